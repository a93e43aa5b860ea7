"""Languages: English and Welsh, from gettext catalogues (Babel).

The public face: ``gettext``/``_`` and ``N_`` for Python's strings, ``use_language`` and
``set_language`` for work outside a page (e-mails, PDFs, the child's view), the request
middlewares, and the template environment. See docs/i18n.md.
"""

from service.i18n.catalogues import HTML_LANG, LANGUAGES, SOURCE_LANGUAGE, Language
from service.i18n.context import (
    N_,
    Message,
    _,
    current_language,
    gettext,
    set_language,
    use_language,
)

__all__ = [
    "HTML_LANG",
    "LANGUAGES",
    "N_",
    "SOURCE_LANGUAGE",
    "Language",
    "Message",
    "_",
    "current_language",
    "gettext",
    "set_language",
    "use_language",
]

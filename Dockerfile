FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# tesseract reads the words inside pictures and scanned pages, so the scanner can flag them.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 letterbox \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /srv/letterbox letterbox
WORKDIR /srv/letterbox/app
COPY pyproject.toml README.md ./
COPY service ./service
COPY storage ./storage
COPY web ./web
# Editable, so templates and migrations are found beside the code.
RUN pip install --no-cache-dir -e . && mkdir -p /srv/letterbox/data && chown letterbox /srv/letterbox/data
USER letterbox
ENV LETTERBOX_DATA_DIR=/srv/letterbox/data LETTERBOX_HOST=0.0.0.0
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz').status==200 else 1)"
CMD ["letterbox", "serve"]

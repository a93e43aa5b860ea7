"""This node's share of the calls: the cleanup context that installs the media passthrough
and owns the registry of live calls (``app[CALLS]``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from service.appkeys import CALLS, SETTINGS
from service.calls import passthrough
from service.calls.forwarding import MediaNodes
from service.calls.registry import CallRegistry, media_ice_servers, node_name
from service.services import Services


async def calls_ctx(app: web.Application) -> AsyncIterator[None]:
    """Install the media passthrough (once per process) and own this node's live calls."""
    settings = app[SETTINGS]
    passthrough.install(host_address=settings.ice_host_address)
    # LETTERBOX_MEDIA_NODE is the proxy's name for this upstream; unset, it is hostname:port.
    node = node_name(settings.host, settings.port, settings.media_node)
    registry = CallRegistry(
        Services.of(app),
        node=node,
        ice_servers=media_ice_servers(settings, node),
    )
    app[CALLS] = registry
    # A served worker (``letterbox serve``) has an internal address: it takes part in
    # forwarding (service.calls.forwarding). An app made in a test process has none.
    nodes = (
        MediaNodes(registry.services, node, settings.internal_url)
        if settings.internal_url
        else None
    )
    if nodes is not None:
        await nodes.start()
    registry.start_sweeping()
    try:
        yield
    finally:
        await registry.close()
        if nodes is not None:
            await nodes.stop()

"""The HTTP/JSON service (``fupin-rules serve``): the library for systems that are not Python.

Needs the ``serve`` extra (``pip install "fupin-rules[serve]"``: FastAPI, uvicorn, orjson,
python-multipart). :func:`fupin_rules.service.app.create_app` builds the FastAPI application;
:func:`fupin_rules.service.server.serve` runs it with uvicorn. Importing this package imports
neither (the CLI registers ``serve`` without them). See docs/service.md.
"""

"""Serving a stored report photo. Photos are not public files: each view that serves one
decides who may see it, then answers with :func:`stored_photo_response`."""

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404


def stored_photo_response(name: str, *, cache: str) -> FileResponse:
    """The stored image ``name`` (JPEG or PNG, as core.images writes them), or 404 when the
    file is gone; ``cache`` is the Cache-Control value."""
    try:
        handle = default_storage.open(name)
    except OSError:  # FileNotFoundError included
        raise Http404 from None
    content_type = "image/png" if name.endswith(".png") else "image/jpeg"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = cache
    return response

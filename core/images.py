"""The one image pipeline: check an uploaded photo, clean it, resize it, store it.

Every feature that takes photos (issue reports first) calls this module. It guarantees:

* **Type by content.** Only JPEG (phones' multi-picture JPEGs included), PNG and WebP,
  as Pillow reads the bytes; the file name and the client's content type are never
  looked at. Anything else (a renamed text file, GIF, BMP, TIFF, PDF …) is refused.
* **Bounded work.** A file over ``LINLI_IMAGE_MAX_BYTES`` (default 10 MiB) is refused
  unparsed. Width × height from the header is checked against ``LINLI_IMAGE_MAX_PIXELS``
  (default 40 million) *before* any pixel is decoded; Pillow's decompression-bomb
  warning and error are refusals too, and so is a file that does not decode to the end.
* **No metadata out.** Stored files are encoded afresh from the pixels alone: no EXIF
  (no GPS position, camera or time), XMP, comments, text chunks or ICC profile. The EXIF
  orientation is applied first (a rotated phone photo stays upright); an embedded ICC
  profile is converted to sRGB before it is dropped.
* **Bounded output.** At most ``LINLI_IMAGE_MAX_SIDE`` px (default 2048) on the long
  side, the thumbnail at most ``LINLI_IMAGE_THUMB_SIDE`` px (default 400); never enlarged.
* **Format rule.** An image with any pixel not fully opaque is stored as PNG (RGBA);
  any other as JPEG (RGB or greyscale, quality 85, progressive). The thumbnail has the
  format of its main image.
* **Random names.** Stored through Django's storage API as
  ``<prefix>/<yyyy>/<mm>/<random>.<ext>`` and ``<random>_thumb.<ext>`` beside it; the
  uploaded file's name never appears.

Every refusal is a :class:`~django.core.exceptions.ValidationError` with a translated
message and a code (``IMAGE_*``). :class:`ImageUploadField` and :class:`MultipleImageField`
run the same checks, so a form shows the message next to the field; services call
:func:`process_image` and, when their transaction rolls back or the photo is deleted,
:func:`delete_stored_image`.
"""

from __future__ import annotations

import io
import secrets
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, default_storage
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

IMAGE_INVALID = "image_invalid"
IMAGE_TOO_LARGE = "image_too_large"
IMAGE_TOO_MANY_PIXELS = "image_too_many_pixels"
IMAGE_DAMAGED = "image_damaged"
IMAGE_TOO_MANY_FILES = "image_too_many_files"

ACCEPT = "image/jpeg,image/png,image/webp"
# Pillow's plugins: only these parsers ever see an upload; JPEG's may say MPO (phones).
_PARSERS = ("JPEG", "PNG", "WEBP")
_FORMATS = (*_PARSERS, "MPO")
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError)

Upload = bytes | bytearray | memoryview | IO[bytes] | File  # File: Django's, uploads included


@dataclass(frozen=True)
class StoredImage:
    """A processed image in storage; ``size`` is the main file's size in bytes."""

    name: str
    thumbnail_name: str
    width: int
    height: int
    content_type: str
    size: int


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


_MESSAGES = {
    IMAGE_INVALID: _("This file is not a JPEG, PNG or WebP image."),
    IMAGE_TOO_MANY_PIXELS: _("This image has too many pixels to process safely."),
    IMAGE_DAMAGED: _("This image is damaged or incomplete."),
}


def _refuse(code: str) -> ValidationError:
    return ValidationError(_MESSAGES[code], code=code)


def _read(upload: Upload) -> bytes:
    """The upload's bytes (at most the limit plus one); a file is rewound afterwards."""
    limit = _setting("LINLI_IMAGE_MAX_BYTES", 10 * 1024 * 1024)
    too_large = ValidationError(
        _("This image is too large: at most %(size)s."),
        code=IMAGE_TOO_LARGE,
        params={"size": filesizeformat(limit)},
    )
    if isinstance(upload, bytes | bytearray | memoryview):
        data = bytes(upload)
    else:
        declared = getattr(upload, "size", None)
        if isinstance(declared, int) and declared > limit:
            raise too_large
        upload.seek(0)
        data = upload.read(limit + 1)
        upload.seek(0)
    if len(data) > limit:
        raise too_large
    return data


def _open(data: bytes) -> Image.Image:
    """Parse the header, check type and pixel count, then decode every pixel."""
    bombs = (Image.DecompressionBombError, Image.DecompressionBombWarning)
    with warnings.catch_warnings():  # Pillow's bomb warning becomes an error here
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=_PARSERS)
        except bombs as error:
            raise _refuse(IMAGE_TOO_MANY_PIXELS) from error
        except (UnidentifiedImageError, *_DECODE_ERRORS) as error:
            raise _refuse(IMAGE_INVALID) from error
        try:
            if image.format not in _FORMATS:
                raise _refuse(IMAGE_INVALID)
            if image.width * image.height > _setting("LINLI_IMAGE_MAX_PIXELS", 40_000_000):
                raise _refuse(IMAGE_TOO_MANY_PIXELS)  # from the header, nothing decoded yet
            try:
                image.load()
            except bombs as error:
                raise _refuse(IMAGE_TOO_MANY_PIXELS) from error
            except _DECODE_ERRORS as error:
                raise _refuse(IMAGE_DAMAGED) from error
        except ValidationError:
            image.close()
            raise
    return image


def validate_image(upload: Upload) -> None:
    """Refuse what :func:`process_image` would refuse, storing nothing.

    ``upload`` is a Django ``UploadedFile``/``File``, a binary file object or bytes;
    a file is left rewound to its start.
    """
    _open(_read(upload)).close()


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert an embedded ICC profile's colours to sRGB (so dropping it keeps them)."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        converted = ImageCms.profileToProfile(
            image,
            ImageCms.ImageCmsProfile(io.BytesIO(icc)),
            ImageCms.createProfile("sRGB"),
            outputMode="RGBA" if image.mode == "RGBA" else "RGB",
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image  # a broken profile: keep the pixels as they are
    return converted if converted is not None else image


def _clean(image: Image.Image) -> Image.Image:
    """Upright, in sRGB, in mode RGB, RGBA (only when some pixel is transparent) or L."""
    try:
        image = ImageOps.exif_transpose(image)
    except (*_DECODE_ERRORS, KeyError):
        pass  # unreadable EXIF: keep the orientation as stored
    image = _to_srgb(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):  # 16-bit grey PNG
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        image = image.convert("RGBA")
        if image.getchannel("A").getextrema()[0] == 255:
            image = image.convert("RGB")
    elif image.mode not in ("RGB", "L"):
        image = image.convert("RGB")  # CMYK, YCbCr, P, 1, LAB …
    return image


def _encode(image: Image.Image, fmt: str) -> bytes:
    """Encode from the pixels alone: a fresh image carries no info, EXIF or profile."""
    bare = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    if fmt == "PNG":
        bare.save(out, "PNG", optimize=False)
    else:
        bare.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue()


def process_image(upload: Upload, *, prefix: str, storage: Storage | None = None) -> StoredImage:
    """Validate, clean, resize and store ``upload`` and its thumbnail.

    ``prefix`` is a folder chosen by the caller (e.g. ``"issues"``), never user input.
    Raises :class:`ValidationError` as :func:`validate_image` does.
    """
    prefix = prefix.strip("/")
    if not prefix or ".." in prefix.split("/"):
        raise ValueError(f"Bad storage prefix: {prefix!r}")
    storage = storage or default_storage
    opened = _open(_read(upload))
    try:
        image = _clean(opened)
    finally:
        opened.close()
    side = _setting("LINLI_IMAGE_MAX_SIDE", 2048)
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    thumb = image.copy()
    thumb_side = _setting("LINLI_IMAGE_THUMB_SIDE", 400)
    thumb.thumbnail((thumb_side, thumb_side), Image.Resampling.LANCZOS)

    fmt, ext, content_type = (
        ("PNG", "png", "image/png") if image.mode == "RGBA" else ("JPEG", "jpg", "image/jpeg")
    )
    main, small = _encode(image, fmt), _encode(thumb, fmt)
    base = f"{prefix}/{timezone.localdate():%Y/%m}/{secrets.token_urlsafe(16)}"
    name = storage.save(f"{base}.{ext}", ContentFile(main))
    try:
        thumbnail_name = storage.save(f"{base}_thumb.{ext}", ContentFile(small))
    except BaseException:
        storage.delete(name)
        raise
    return StoredImage(name, thumbnail_name, image.width, image.height, content_type, len(main))


def delete_stored_image(
    stored_or_names: StoredImage | str | Iterable[str], *, storage: Storage | None = None
) -> None:
    """Delete an image and its thumbnail (a :class:`StoredImage` or the names); idempotent."""
    storage = storage or default_storage
    names = stored_or_names
    if isinstance(names, StoredImage):
        names = (names.name, names.thumbnail_name)
    for name in (names,) if isinstance(names, str) else names:
        if name:
            storage.delete(name)


class ImageUploadField(forms.FileField):
    """A file field that accepts only what :func:`process_image` will accept."""

    widget = forms.ClearableFileInput(attrs={"accept": ACCEPT})

    def clean(self, data: Any, initial: Any = None) -> Any:
        value = super().clean(data, initial)
        if value and value is not initial:
            validate_image(value)
        return value


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Up to ``max_files`` images (default 9); ``clean()`` returns a list of uploads."""

    def __init__(self, *args: Any, max_files: int = 9, **kwargs: Any) -> None:
        self.max_files = max_files
        kwargs.setdefault("widget", MultipleImageInput(attrs={"accept": ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if not files:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        if len(files) > self.max_files:
            raise ValidationError(
                ngettext_lazy("At most %(count)d photo.", "At most %(count)d photos.", "count"),
                code=IMAGE_TOO_MANY_FILES,
                params={"count": self.max_files},
            )
        cleaned: list[Any] = []
        errors: dict[str | None, ValidationError] = {}  # one message per kind of refusal
        for upload in files:
            try:
                value = super().clean(upload)
                validate_image(value)
            except ValidationError as error:
                for item in error.error_list:
                    errors.setdefault(item.code, item)
            else:
                cleaned.append(value)
        if errors:
            raise ValidationError(list(errors.values()))
        return cleaned

"""The shared image pipeline (core.images): what is refused, what is stripped, what is stored.

Images are built in memory with Pillow; the test settings store files in
``InMemoryStorage``. Messages are compared in English (the msgids).
"""

from __future__ import annotations

import io
import re
import struct
import zlib

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import translation
from django.utils.datastructures import MultiValueDict
from PIL import Image, ImageCms, PngImagePlugin

from core.images import (
    IMAGE_DAMAGED,
    IMAGE_INVALID,
    IMAGE_TOO_LARGE,
    IMAGE_TOO_MANY_FILES,
    IMAGE_TOO_MANY_PIXELS,
    ImageUploadField,
    MultipleImageField,
    StoredImage,
    delete_stored_image,
    process_image,
    validate_image,
)

GPS_IFD = 0x8825
ORIENTATION = 0x0112
NOT_AN_IMAGE = "This file is not a JPEG, PNG or WebP image."
TOO_MANY_PIXELS = "This image has too many pixels to process safely."


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def photo(size=(200, 100), colour=(200, 30, 30), fmt="JPEG", mode="RGB", **options) -> bytes:
    return encode(Image.new(mode, size, colour), fmt, **options)


def upload(data: bytes, name="photo.jpg", content_type="image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored(name: str) -> Image.Image:
    with default_storage.open(name) as f:
        image = Image.open(io.BytesIO(f.read()))
    image.load()
    return image


def refusal(data, code: str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validate_image(data)
    assert caught.value.code == code
    with pytest.raises(ValidationError) as caught_again:
        process_image(data, prefix="tests")
    assert caught_again.value.code == code
    return caught.value


def png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR (with a valid CRC) claims ``width`` x ``height``; its data is a stub."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 10))
        + chunk(b"IEND", b"")
    )


def swapped_primaries_profile() -> bytes:
    """An ICC v2 RGB profile whose red and green primaries are sRGB's green and red."""

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 0x0233) + b"\0\0"  # gamma 2.2
    tags = [
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.3851, 0.7169, 0.0971)),  # sRGB's green primary (D50)
        (b"gXYZ", xyz(0.4361, 0.2225, 0.0139)),  # sRGB's red primary
        (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body + b"\0" * (-len(body) % 4)
    header = (
        struct.pack(">I", offset + len(data))
        + b"\0" * 4
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 28
        + xyz(0.9642, 1.0, 0.8249)[8:]
        + b"\0" * 48
    )
    return header + struct.pack(">I", len(tags)) + table + data


# --- metadata and orientation --------------------------------------------------------------


def test_gps_and_other_exif_are_stripped():
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (31.0, 14.0, 0.0)
    gps[3] = "E"
    gps[4] = (121.0, 28.0, 0.0)
    data = photo(exif=exif.tobytes())
    assert GPS_IFD in Image.open(io.BytesIO(data)).getexif()  # the input does carry GPS

    result = process_image(upload(data), prefix="tests")

    for name in (result.name, result.thumbnail_name):
        image = stored(name)
        assert "exif" not in image.info
        found = image.getexif()
        assert GPS_IFD not in found
        assert not found.get_ifd(GPS_IFD)
        assert 0x010F not in found


def test_comments_xmp_icc_and_text_chunks_are_stripped():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    jpeg = photo(comment=b"secret note", xmp=b"<x:xmpmeta>secret</x:xmpmeta>", icc_profile=srgb)
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "secret note")
    png = photo(fmt="PNG", mode="RGBA", colour=(0, 0, 0, 0), pnginfo=text, icc_profile=srgb)
    assert "comment" in Image.open(io.BytesIO(jpeg)).info

    for data in (jpeg, png):
        result = process_image(data, prefix="tests")
        with default_storage.open(result.name) as f:
            raw = f.read()
        assert b"secret" not in raw
        info = stored(result.name).info
        assert not {"comment", "xmp", "icc_profile", "exif", "Comment"} & set(info)


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # rotate 90° clockwise to display
    data = photo(size=(200, 100), exif=exif.tobytes())

    result = process_image(data, prefix="tests")

    assert (result.width, result.height) == (100, 200)
    image = stored(result.name)
    assert image.size == (100, 200)
    assert ORIENTATION not in image.getexif()


def test_an_icc_profile_is_applied_before_it_is_dropped():
    data = photo(colour=(255, 0, 0), fmt="PNG", icc_profile=swapped_primaries_profile())

    result = process_image(data, prefix="tests")

    image = stored(result.name)
    assert "icc_profile" not in image.info
    red, green, blue = image.getpixel((10, 10))
    assert red < 30 and green > 225 and blue < 30  # the profile's "red" is sRGB green


def test_a_broken_icc_profile_is_dropped_and_the_pixels_kept():
    data = photo(colour=(255, 0, 0), fmt="PNG", icc_profile=b"not a profile")

    image = stored(process_image(data, prefix="tests").name)

    assert "icc_profile" not in image.info
    assert image.getpixel((10, 10))[0] > 225


# --- sizes ---------------------------------------------------------------------------------


def test_large_image_is_resized_and_thumbnailed():
    result = process_image(photo(size=(5000, 3000)), prefix="tests")

    assert (result.width, result.height) == (2048, 1229)
    assert stored(result.name).size == (2048, 1229)
    assert stored(result.thumbnail_name).size == (400, 240)
    with default_storage.open(result.name) as f:
        assert result.size == len(f.read())


@override_settings(LINLI_IMAGE_MAX_SIDE=300, LINLI_IMAGE_THUMB_SIDE=50)
def test_the_sides_come_from_the_settings():
    result = process_image(photo(size=(100, 600)), prefix="tests")

    assert stored(result.name).size == (50, 300)
    assert stored(result.thumbnail_name).size == (8, 50)


def test_a_small_image_is_not_enlarged():
    result = process_image(photo(size=(120, 80)), prefix="tests")

    assert stored(result.name).size == (120, 80)
    assert stored(result.thumbnail_name).size == (120, 80)


# --- accepted formats and the output rule --------------------------------------------------


def test_png_with_alpha_is_kept_transparent_as_png():
    data = photo(fmt="PNG", mode="RGBA", colour=(10, 20, 30, 128))

    result = process_image(upload(data, "logo.png", "image/png"), prefix="tests")

    assert result.content_type == "image/png"
    assert result.name.endswith(".png") and result.thumbnail_name.endswith("_thumb.png")
    image = stored(result.name)
    assert image.format == "PNG" and image.mode == "RGBA"
    assert image.getpixel((0, 0)) == (10, 20, 30, 128)


def test_palette_png_with_transparency_keeps_it():
    image = Image.new("P", (40, 40), 0)
    image.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    image.paste(1, (0, 0, 20, 40))
    data = encode(image, "PNG", transparency=0)

    result = process_image(data, prefix="tests")

    out = stored(result.name)
    assert out.format == "PNG" and out.mode == "RGBA"
    assert out.getpixel((30, 0))[3] == 0
    assert out.getpixel((0, 0)) == (0, 255, 0, 255)


def test_opaque_png_and_webp_become_jpeg():
    opaque_rgba = photo(fmt="PNG", mode="RGBA", colour=(1, 2, 3, 255))
    for data in (photo(fmt="PNG"), opaque_rgba, photo(fmt="WEBP")):
        validate_image(data)
        result = process_image(data, prefix="tests")
        assert result.content_type == "image/jpeg"
        assert stored(result.name).format == "JPEG"
        assert stored(result.name).mode == "RGB"


def test_webp_with_alpha_is_accepted():
    data = photo(fmt="WEBP", mode="RGBA", colour=(0, 0, 255, 0), lossless=True)

    result = process_image(upload(data, "sticker.webp", "image/webp"), prefix="tests")

    assert result.content_type == "image/png"
    assert stored(result.name).getpixel((0, 0))[3] == 0


def test_cmyk_jpeg_becomes_rgb():
    data = photo(mode="CMYK", colour=(0, 255, 255, 0))  # red in CMYK

    result = process_image(data, prefix="tests")

    image = stored(result.name)
    assert image.mode == "RGB"
    red, green, blue = image.getpixel((10, 10))
    assert red > 200 and green < 60 and blue < 60


def test_greyscale_stays_greyscale_and_16_bit_grey_is_scaled():
    assert stored(process_image(photo(mode="L", colour=90), prefix="t").name).mode == "L"
    deep = photo(fmt="PNG", mode="I;16", colour=40000)

    image = stored(process_image(deep, prefix="tests").name)

    assert image.mode == "L"
    assert abs(image.getpixel((0, 0)) - 40000 // 256) <= 2


def test_multi_picture_jpeg_from_a_phone_is_accepted():
    first, second = Image.new("RGB", (60, 40), "red"), Image.new("RGB", (60, 40), "blue")
    data = encode(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data)).format == "MPO"

    result = process_image(data, prefix="tests")

    assert stored(result.name).size == (60, 40)


def test_bytes_and_plain_file_objects_are_accepted_and_rewound():
    data = photo()
    validate_image(data)
    validate_image(bytearray(data))
    f = io.BytesIO(data)
    f.seek(10)

    validate_image(f)

    assert f.tell() == 0
    assert process_image(f, prefix="tests").width == 200


# --- refusals ------------------------------------------------------------------------------


def test_a_renamed_text_file_is_refused():
    fake = upload(b"Just some text, not a photo.\n" * 10, "photo.jpg", "image/jpeg")

    error = refusal(fake, IMAGE_INVALID)

    assert error.messages == [NOT_AN_IMAGE]


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "PDF", "ICO"])
def test_other_image_formats_are_refused(fmt):
    data = photo(size=(64, 64), fmt=fmt)

    error = refusal(upload(data, "photo.jpg", "image/jpeg"), IMAGE_INVALID)

    assert error.messages == [NOT_AN_IMAGE]


def test_a_truncated_image_is_refused():
    data = photo(size=(400, 400), fmt="PNG")[:-200]

    error = refusal(data, IMAGE_DAMAGED)

    assert error.messages == ["This image is damaged or incomplete."]


@override_settings(LINLI_IMAGE_MAX_BYTES=1000)
def test_an_oversized_file_is_refused():
    noise = Image.effect_noise((200, 200), 64).convert("RGB")
    data = encode(noise, "JPEG")
    assert len(data) > 1000

    error = refusal(upload(data), IMAGE_TOO_LARGE)
    refusal(data, IMAGE_TOO_LARGE)
    refusal(io.BytesIO(data), IMAGE_TOO_LARGE)

    assert error.messages == ["This image is too large: at most 1000\xa0bytes."]
    validate_image(photo(size=(8, 8)))  # a small one still passes


def test_the_default_byte_limit_is_ten_mib():
    with pytest.raises(ValidationError) as caught:
        validate_image(b"\0" * (10 * 1024 * 1024 + 1))
    assert caught.value.code == IMAGE_TOO_LARGE
    assert caught.value.messages == ["This image is too large: at most 10.0\xa0MB."]


@override_settings(LINLI_IMAGE_MAX_PIXELS=5000)
def test_the_pixel_limit_comes_from_the_settings():
    validate_image(photo(size=(100, 50)))  # 5000 pixels: at the limit

    error = refusal(photo(size=(100, 51)), IMAGE_TOO_MANY_PIXELS)

    assert error.messages == [TOO_MANY_PIXELS]


def test_pixels_are_counted_from_the_header_before_decoding():
    # 64 million pixels: over our limit, under Pillow's own. The file holds no real pixel
    # data, so decoding first would refuse it as damaged, not for its pixel count.
    error = refusal(png_header(8000, 8000), IMAGE_TOO_MANY_PIXELS)

    assert error.messages == [TOO_MANY_PIXELS]


def test_pillows_decompression_bomb_error_is_a_refusal():
    with override_settings(LINLI_IMAGE_MAX_PIXELS=10**12):
        error = refusal(png_header(30000, 30000), IMAGE_TOO_MANY_PIXELS)
    assert error.messages == [TOO_MANY_PIXELS]


def test_pillows_decompression_bomb_warning_is_a_refusal():
    # 100 million pixels: Pillow warns (over 89 million) but does not raise.
    with override_settings(LINLI_IMAGE_MAX_PIXELS=10**12):
        error = refusal(png_header(10000, 10000), IMAGE_TOO_MANY_PIXELS)
    assert error.messages == [TOO_MANY_PIXELS]


# --- storage -------------------------------------------------------------------------------


def test_stored_names_are_random_and_never_the_uploaded_name():
    data = photo()
    first = process_image(upload(data, "zhang-san-home-address.jpg"), prefix="issues")
    second = process_image(upload(data, "zhang-san-home-address.jpg"), prefix="issues")

    pattern = re.compile(r"issues/\d{4}/\d{2}/([A-Za-z0-9_-]{22})\.jpg")
    for result in (first, second):
        assert isinstance(result, StoredImage)
        match = pattern.fullmatch(result.name)
        assert match
        assert result.thumbnail_name == result.name.replace(".jpg", "_thumb.jpg")
        assert "zhang" not in result.name and "zhang" not in result.thumbnail_name
        assert default_storage.exists(result.name)
        assert default_storage.exists(result.thumbnail_name)
    assert first.name != second.name


def test_a_given_storage_is_used():
    from django.core.files.storage import InMemoryStorage

    other = InMemoryStorage()

    result = process_image(photo(), prefix="tests", storage=other)

    assert other.exists(result.name) and other.exists(result.thumbnail_name)
    assert not default_storage.exists(result.name)
    delete_stored_image(result, storage=other)
    assert not other.exists(result.name) and not other.exists(result.thumbnail_name)


@pytest.mark.parametrize("prefix", ["", "/", "../etc", "issues/../../x"])
def test_a_bad_prefix_is_a_programming_error(prefix):
    with pytest.raises(ValueError):
        process_image(photo(), prefix=prefix)


def test_delete_removes_both_files_and_can_run_twice():
    result = process_image(photo(), prefix="tests")
    other = process_image(photo(), prefix="tests")

    delete_stored_image(result)
    delete_stored_image(result)  # already gone: no error
    delete_stored_image([other.name, other.thumbnail_name])

    for name in (result.name, result.thumbnail_name, other.name, other.thumbnail_name):
        assert not default_storage.exists(name)


def test_a_failed_thumbnail_save_leaves_no_main_file(monkeypatch):
    saved = []
    real_save = default_storage.save

    def save(name, content, **kwargs):
        if name.endswith("_thumb.jpg"):
            raise OSError("disk full")
        saved.append(real_save(name, content, **kwargs))
        return saved[-1]

    monkeypatch.setattr(default_storage, "save", save)

    with pytest.raises(OSError):
        process_image(photo(), prefix="tests")

    assert len(saved) == 1
    assert not default_storage.exists(saved[0])


# --- form fields ---------------------------------------------------------------------------


class ReportForm(forms.Form):
    title = forms.CharField()
    photo = ImageUploadField(required=False)


class AlbumForm(forms.Form):
    title = forms.CharField()
    photos = MultipleImageField(max_files=3, required=False)


def test_the_form_field_shows_the_message_and_keeps_other_fields():
    fake = upload(b"not an image at all", "photo.jpg", "image/jpeg")
    form = ReportForm(data={"title": "Broken lamp"}, files={"photo": fake})

    assert not form.is_valid()
    assert form.errors == {"photo": [NOT_AN_IMAGE]}
    assert form.cleaned_data == {"title": "Broken lamp"}
    assert form.has_error("photo", code=IMAGE_INVALID)


def test_the_form_field_accepts_an_image_and_leaves_it_ready_to_process():
    form = ReportForm(data={"title": "Broken lamp"}, files={"photo": upload(photo())})

    assert form.is_valid(), form.errors
    result = process_image(form.cleaned_data["photo"], prefix="issues")
    assert result.width == 200
    assert ReportForm(data={"title": "No photo"}).is_valid()


def test_the_form_fields_tell_the_browser_what_to_offer():
    html = str(ReportForm()["photo"]) + str(AlbumForm()["photos"])

    assert html.count('accept="image/jpeg,image/png,image/webp"') == 2
    assert "multiple" in str(AlbumForm()["photos"])
    assert "multiple" not in str(ReportForm()["photo"])


def album(*files, **data) -> AlbumForm:
    return AlbumForm(data={"title": "Park", **data}, files=MultiValueDict({"photos": list(files)}))


def test_multiple_field_returns_every_image():
    form = album(upload(photo()), upload(photo(fmt="PNG"), "b.png"))

    assert form.is_valid(), form.errors
    assert [f.name for f in form.cleaned_data["photos"]] == ["photo.jpg", "b.png"]
    empty = album()
    assert empty.is_valid() and empty.cleaned_data["photos"] == []


def test_multiple_field_refuses_more_than_max_files():
    form = album(*(upload(photo()) for _ in range(4)))

    assert not form.is_valid()
    assert form.errors == {"photos": ["At most 3 photos."]}
    assert form.has_error("photos", code=IMAGE_TOO_MANY_FILES)
    assert form.cleaned_data == {"title": "Park"}
    assert album(*(upload(photo()) for _ in range(3))).is_valid()


def test_multiple_field_message_is_singular_for_one():
    field = MultipleImageField(max_files=1)

    with pytest.raises(ValidationError) as caught:
        field.clean([upload(photo()), upload(photo())])

    assert caught.value.messages == ["At most 1 photo."]


def test_multiple_field_refuses_a_bad_file_among_good_ones_once_per_reason():
    bad = [upload(b"text", "a.jpg"), upload(b"more text", "b.jpg")]
    form = album(upload(photo()), *bad)

    assert not form.is_valid()
    assert form.errors == {"photos": [NOT_AN_IMAGE]}


def test_a_required_multiple_field_needs_a_file():
    field = MultipleImageField(max_files=3)

    with pytest.raises(ValidationError) as caught:
        field.clean([])

    assert caught.value.code == "required"

"""Real image files made on the spot, for the media tests."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageCms

ORIENTATION = 0x0112
MAKE = 0x010F
GPS_IFD = 0x8825


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def picture(width: int = 320, height: int = 200, mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue (so rotations can be told apart), with a green square in a corner."""
    image = Image.new(mode, (width, height), (200, 20, 20) + ((255,) if mode == "RGBA" else ()))
    image.paste((20, 20, 200), (width // 2, 0, width, height))
    image.paste((20, 180, 20), (0, 0, max(1, width // 10), max(1, height // 10)))
    return image


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def camera_exif(orientation: int = 6) -> Image.Exif:
    """EXIF as a phone writes it: orientation, camera make and a GPS position."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE] = "SecretCam"
    exif[GPS_IFD] = {1: "N", 2: (31.0, 14.0, 5.0), 3: "E", 4: (121.0, 28.0, 30.0)}
    return exif


XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="Secret Person"/></rdf:RDF>'
       b'</x:xmpmeta>')


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int) -> bytes:
    """A small PNG made by Pillow whose header is then rewritten to claim ``width`` × ``height`` pixels."""
    data = encode(Image.new("L", (8, 8), 255), "PNG")
    assert data[12:16] == b"IHDR"
    header = struct.pack(">II", width, height) + data[24:29]
    return data[:8] + _png_chunk(b"IHDR", header) + data[33:]


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A complete, valid one-colour 1-bit PNG of ``width`` × ``height`` pixels: about 100 KB on disk, but
    ``width × height`` bytes once decoded. Written row by row, because Pillow would need all those bytes in
    memory to make it."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit per pixel, greyscale
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", b"".join(parts))
            + _png_chunk(b"IEND", b""))

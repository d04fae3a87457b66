"""The pure parts of the wsi2rek Streamlit app, importable and testable without Streamlit.

Everything here is a plain function on bytes, arrays, detections and paths: decoding an
upload with size and decompression-bomb guards, validating a model ARN, filtering and
drawing detections, building the table and the CSV/GeoJSON downloads, listing slides and
clamping a slide region. ``wsi2rek/app/streamlit_app.py`` only wires these to widgets.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

import attrs
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from wsi2rek._json import dumps
from wsi2rek.detection import Detection, RGBImage
from wsi2rek.errors import Wsi2RekError
from wsi2rek.geometry import Box, Point
from wsi2rek.inference import label_color, to_geojson, write_csv
from wsi2rek.rekognition import MODEL_ARN, PROJECT_ARN, QUOTA

__all__ = [
    "ACCEPTED_FORMATS",
    "ARN_ENV",
    "DEFAULT_MAX_MEGAPIXELS",
    "DEFAULT_MAX_UPLOAD_MB",
    "ENDPOINT_ENV",
    "MAX_REGION_SIZE",
    "PROFILE_ENV",
    "REGION_ENV",
    "SLIDES_DIR_ENV",
    "SLIDE_SUFFIXES",
    "AppConfig",
    "AppConfigError",
    "ModelArnError",
    "SlideFolderError",
    "UploadError",
    "clamp_region",
    "decode_image",
    "detection_rows",
    "detections_csv",
    "detections_geojson",
    "draw_detections",
    "draw_region",
    "filter_detections",
    "label_position",
    "list_slides",
    "model_image_problem",
    "sample_cells",
    "sample_png",
    "summary_text",
    "translate_detections",
    "validate_model_arn",
]

#: Environment variable holding a default Custom Labels model version ARN.
ARN_ENV: Final = "WSI2REK_MODEL_ARN"
#: Environment variable naming the folder slide mode lists slides from.
SLIDES_DIR_ENV: Final = "WSI2REK_SLIDES_DIR"
#: Environment variable naming the AWS profile (of ~/.aws/config) the model is called with.
PROFILE_ENV: Final = "WSI2REK_AWS_PROFILE"
#: Environment variable naming the AWS region of the model calls (default: the ARN's).
REGION_ENV: Final = "WSI2REK_AWS_REGION"
#: Environment variable naming the Rekognition endpoint (default: AWS's for the region).
ENDPOINT_ENV: Final = "WSI2REK_REKOGNITION_ENDPOINT_URL"
#: Environment variable overriding the upload size limit (megabytes).
MAX_UPLOAD_ENV: Final = "WSI2REK_APP_MAX_UPLOAD_MB"
#: Environment variable overriding the image size limit (megapixels).
MAX_PIXELS_ENV: Final = "WSI2REK_APP_MAX_MEGAPIXELS"

DEFAULT_MAX_UPLOAD_MB: Final = 20
DEFAULT_MAX_MEGAPIXELS: Final = 40.0
#: Largest slide region the app reads at once: Rekognition's 4096 px image side limit.
MAX_REGION_SIZE: Final = QUOTA.max_image_side

#: Pillow format names the app accepts, with their MIME types.
ACCEPTED_FORMATS: Final[Mapping[str, str]] = {"PNG": "image/png", "JPEG": "image/jpeg"}

#: File suffixes slide mode lists (what OpenSlide reads, plus plain images for Pillow).
SLIDE_SUFFIXES: Final = frozenset(
    {
        ".svs", ".tif", ".tiff", ".ndpi", ".vms", ".vmu", ".scn", ".mrxs", ".svslide",
        ".bif", ".dcm", ".png", ".jpg", ".jpeg",
    }
)  # fmt: skip

# One owner for the service's rules: the ARN patterns and image limits.
_MODEL_ARN = MODEL_ARN
_PROJECT_ARN = PROJECT_ARN
_ARN_SHAPE = "arn:aws:rekognition:REGION:ACCOUNT:project/PROJECT/version/VERSION/TIMESTAMP"

# --- errors -----------------------------------------------------------------------------


class UploadError(Wsi2RekError, ValueError):
    """An uploaded file cannot be used as an image; ``name`` is the file's name."""

    def __init__(self, message: str, *, name: str) -> None:
        super().__init__(message)
        self.name = name


class ModelArnError(Wsi2RekError, ValueError):
    """A model ARN is missing or not a Custom Labels model *version* ARN."""

    def __init__(self, message: str, *, arn: str) -> None:
        super().__init__(message)
        self.arn = arn


class AppConfigError(Wsi2RekError, ValueError):
    """An environment variable configuring the app has an unusable value."""

    def __init__(self, message: str, *, variable: str) -> None:
        super().__init__(message)
        self.variable = variable


class SlideFolderError(Wsi2RekError, FileNotFoundError):
    """The configured slide folder does not exist or is not a folder."""

    def __init__(self, message: str, *, path: Path) -> None:
        super().__init__(message)
        self.path = path


# --- configuration ----------------------------------------------------------------------


@attrs.frozen
class AppConfig:
    """The app's settings, read once from the environment.

    Attributes:
        model_arn: Default model version ARN (``WSI2REK_MODEL_ARN``), or ``""``.
        slides_dir: Folder for slide mode (``WSI2REK_SLIDES_DIR``), or None to hide it.
        max_upload_bytes: Largest accepted upload (``WSI2REK_APP_MAX_UPLOAD_MB``).
        max_pixels: Largest accepted image area (``WSI2REK_APP_MAX_MEGAPIXELS``).
        aws_profile: AWS profile for model calls (``WSI2REK_AWS_PROFILE``); None for
            boto3's default credentials.
        aws_region: Region of model calls (``WSI2REK_AWS_REGION``); None for the ARN's.
        endpoint_url: Rekognition endpoint (``WSI2REK_REKOGNITION_ENDPOINT_URL``); None
            for AWS's.
    """

    model_arn: str = ""
    slides_dir: Path | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB * 1024 * 1024
    max_pixels: int = int(DEFAULT_MAX_MEGAPIXELS * 1_000_000)
    aws_profile: str | None = None
    aws_region: str | None = None
    endpoint_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AppConfig:
        """Read the settings from ``env`` (``os.environ`` when None).

        Raises:
            AppConfigError: A size limit is not a positive number.
        """
        env = os.environ if env is None else env
        slides = env.get(SLIDES_DIR_ENV, "").strip()
        upload_mb = _positive(env, MAX_UPLOAD_ENV, DEFAULT_MAX_UPLOAD_MB)
        megapixels = _positive(env, MAX_PIXELS_ENV, DEFAULT_MAX_MEGAPIXELS)
        return cls(
            model_arn=env.get(ARN_ENV, "").strip(),
            slides_dir=Path(slides).expanduser() if slides else None,
            max_upload_bytes=int(upload_mb * 1024 * 1024),
            max_pixels=int(megapixels * 1_000_000),
            aws_profile=env.get(PROFILE_ENV, "").strip() or None,
            aws_region=env.get(REGION_ENV, "").strip() or None,
            endpoint_url=env.get(ENDPOINT_ENV, "").strip() or None,
        )

    @property
    def max_upload_mb(self) -> int:
        """The upload limit in whole megabytes (at least 1), for Streamlit's uploader."""
        return max(1, self.max_upload_bytes // (1024 * 1024))


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (value > 0 and np.isfinite(value)):
        raise AppConfigError(
            f"environment variable {name} must be a positive number, found {raw!r}; "
            f"unset it to use the default ({default})",
            variable=name,
        )
    return value


# --- decoding uploads -------------------------------------------------------------------


def decode_image(
    data: bytes,
    name: str,
    *,
    max_bytes: int = DEFAULT_MAX_UPLOAD_MB * 1024 * 1024,
    max_pixels: int = int(DEFAULT_MAX_MEGAPIXELS * 1_000_000),
) -> RGBImage:
    """Decode an uploaded PNG or JPEG into an RGB ``uint8`` array, refusing unsafe input.

    The file size is checked first, then the header is parsed (``Image.open`` reads only
    the header) and the pixel count checked *before* any pixel is decoded, so a small file
    claiming a huge image (a decompression bomb) is refused cheaply. Pillow's process-wide
    ``MAX_IMAGE_PIXELS`` is left alone. JPEG EXIF orientation is applied.

    Args:
        data: The uploaded bytes.
        name: The file's name, used in messages.
        max_bytes: Largest accepted file size.
        max_pixels: Largest accepted ``width * height``.

    Returns:
        An array of shape ``(height, width, 3)``.

    Raises:
        UploadError: The file is empty, too large, not a PNG/JPEG, over ``max_pixels``,
            or its pixels cannot be decoded.
    """
    if not data:
        raise UploadError(f"{name} is empty; upload a PNG or JPEG image", name=name)
    if len(data) > max_bytes:
        raise UploadError(
            f"{name} is {_megabytes(len(data))}; the limit is {_megabytes(max_bytes)}. "
            "Upload a smaller crop, or save it as JPEG",
            name=name,
        )
    with warnings.catch_warnings():
        # Pillow warns above its own global limit; this function enforces a lower one.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=tuple(ACCEPTED_FORMATS))
        except Image.DecompressionBombError as exc:
            raise UploadError(
                f"{name} declares an image too large to decode safely ({exc}); "
                f"the limit is {max_pixels / 1e6:g} megapixels",
                name=name,
            ) from exc
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise UploadError(
                f"{name} is {_describe_format(data)}; the app accepts PNG or JPEG images "
                "only. Convert it first (e.g. with an image viewer's 'Save as PNG')",
                name=name,
            ) from exc
        with image:
            width, height = image.size
            if width * height > max_pixels:
                raise UploadError(
                    f"{name} is {width} x {height} px ({width * height / 1e6:.1f} "
                    f"megapixels); the limit is {max_pixels / 1e6:g} megapixels. Crop a "
                    "region first, or use slide mode for whole slides",
                    name=name,
                )
            try:
                image.load()
                oriented = ImageOps.exif_transpose(image)
                rgb = oriented.convert("RGB")
            except (OSError, ValueError, SyntaxError) as exc:
                raise UploadError(
                    f"{name} is a {image.format} image whose pixels cannot be decoded "
                    f"({exc}); the file may be truncated. Re-export it and upload again",
                    name=name,
                ) from exc
    return np.array(rgb, dtype=np.uint8)


def _megabytes(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _describe_format(data: bytes) -> str:
    """Name what a refused upload is, for the message ('a GIF image', 'not an image')."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as other:
                found = other.format
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            found = None
    if found in ACCEPTED_FORMATS:
        return f"a {found} file that cannot be read (it may be truncated or corrupt)"
    if found:
        return f"a {found} image"
    return "not an image"


# --- model ARN --------------------------------------------------------------------------


def validate_model_arn(arn: str) -> str:
    """Check that ``arn`` looks like a Custom Labels model version ARN, without any network.

    Args:
        arn: What the user typed (surrounding blanks are ignored).

    Returns:
        The stripped ARN.

    Raises:
        ModelArnError: The ARN is empty, is a project ARN, or has the wrong shape.
    """
    arn = arn.strip()
    if not arn:
        raise ModelArnError(
            f"no model ARN given; paste a model version ARN ({_ARN_SHAPE}) in the sidebar "
            f"or set {ARN_ENV}, or choose the offline demo detector",
            arn=arn,
        )
    if _MODEL_ARN.match(arn):
        return arn
    if _PROJECT_ARN.match(arn):
        raise ModelArnError(
            f"{arn!r} is a project ARN, not a model version ARN; copy the ARN of a trained "
            f"version (shape {_ARN_SHAPE}) from the Custom Labels console or "
            "`wsi2rek model status`",
            arn=arn,
        )
    raise ModelArnError(
        f"{arn!r} is not a Rekognition Custom Labels model version ARN; expected {_ARN_SHAPE}",
        arn=arn,
    )


def model_image_problem(width: int, height: int) -> str | None:
    """Why a Custom Labels model cannot take a ``width x height`` image, or None when it can.

    Rekognition Custom Labels handles images from 64 x 64 to 4096 x 4096 pixels.
    """
    low = QUOTA.min_image_side
    if width < low or height < low:
        return (
            f"The image is {width} x {height} px; a Custom Labels model needs at least "
            f"{low} x {low} px. Upload a larger image"
        )
    if width > MAX_REGION_SIZE or height > MAX_REGION_SIZE:
        return (
            f"The image is {width} x {height} px; a Custom Labels model takes at most "
            f"{MAX_REGION_SIZE} x {MAX_REGION_SIZE} px. Crop it, use slide mode, or run "
            "`wsi2rek detect-slide`, which tiles large images"
        )
    return None


# --- detections -------------------------------------------------------------------------


def filter_detections(
    detections: Iterable[Detection], min_confidence: float
) -> tuple[Detection, ...]:
    """Keep detections whose confidence is at least ``min_confidence`` percent, best first."""
    kept = [d for d in detections if d.confidence >= min_confidence]
    return tuple(sorted(kept, key=lambda d: -d.confidence))


def translate_detections(
    detections: Iterable[Detection], dx: float, dy: float
) -> tuple[Detection, ...]:
    """Shift every box by ``(dx, dy)``, e.g. from region pixels to level-0 slide pixels."""
    return tuple(attrs.evolve(d, box=d.box.translate(dx, dy)) for d in detections)


def summary_text(shown: int, found: int, min_confidence: float) -> str:
    """One line saying how many detections are shown, e.g. ``"3 detections ..."``."""
    noun = "detection" if shown == 1 else "detections"
    hidden = found - shown
    tail = f" ({hidden} below the threshold hidden)" if hidden else ""
    return f"{shown} {noun} with confidence ≥ {min_confidence:g}%{tail}"


def draw_detections(image: RGBImage | Image.Image, detections: Sequence[Detection]) -> Image.Image:
    """Draw each detection's box and ``label confidence%`` on a copy of ``image``.

    Line width and font size follow the image size so that labels stay readable on both
    a 256 px patch and a 4096 px region.
    """
    # convert() returns a copy even for RGB input, so the caller's image is never drawn on.
    canvas = (
        image.convert("RGB") if isinstance(image, Image.Image) else Image.fromarray(image, "RGB")
    )
    draw = ImageDraw.Draw(canvas)
    # label_color is the colour the GeoJSON export gives QuPath, so both views agree.
    short = min(canvas.size)
    width = max(2, round(short / 150))
    font = ImageFont.load_default(size=max(12, round(short / 40)))
    for det in detections:
        colour = label_color(det.label)
        left, top, right, bottom = det.box.to_ints()
        draw.rectangle((left, top, right, bottom), outline=colour, width=width)
        text = f"{det.label} {det.confidence:.0f}%"
        tl, tt, tr, tb = draw.textbbox((0, 0), text, font=font)
        pad = 2
        size = (math.ceil(tr - tl) + 2 * pad, math.ceil(tb - tt) + 2 * pad)
        x, y = label_position((left, top, right, bottom), size, canvas.size, width)
        draw.rectangle((x, y, x + size[0], y + size[1]), fill=colour)
        draw.text((x + pad - tl, y + pad - tt), text, fill=(0, 0, 0), font=font)
    return canvas


def label_position(
    box: tuple[int, int, int, int],
    label_size: tuple[int, int],
    canvas_size: tuple[int, int],
    line_width: int = 0,
) -> tuple[int, int]:
    """Top-left corner for a box's label: outside the box, so it never hides the cell.

    Above the box when there is room, else below it (a cell at the image's top edge), and
    only when neither fits (a box nearly as tall as the image) at the top of the image.
    The label is shifted left, if needed, to stay inside the image.

    Args:
        box: ``(left, top, right, bottom)`` of the box, in pixels.
        label_size: Width and height of the label's background, in pixels.
        canvas_size: Width and height of the image, in pixels.
        line_width: Width of the box outline, kept clear of the label.

    Returns:
        ``(x, y)`` of the label's top-left corner.
    """
    left, top, _, bottom = box
    label_w, label_h = label_size
    canvas_w, canvas_h = canvas_size
    above = top - line_width - label_h
    below = bottom + line_width + 1
    if above >= 0:
        y = above
    elif below + label_h <= canvas_h:
        y = below
    else:
        y = 0
    x = min(max(0, left), max(0, canvas_w - label_w))
    return x, y


def detection_rows(detections: Iterable[Detection]) -> list[dict[str, str | float]]:
    """One table row per detection: label, confidence (%), left, top, width, height (px)."""
    return [
        {
            "label": d.label,
            "confidence": round(d.confidence, 2),
            "left": round(d.box.left, 1),
            "top": round(d.box.top, 1),
            "width": round(d.box.width, 1),
            "height": round(d.box.height, 1),
        }
        for d in detections
    ]


def detections_csv(detections: Iterable[Detection]) -> bytes:
    """The detections as CSV, in the format of :func:`wsi2rek.inference.write_csv`.

    The same file ``wsi2rek detect-slide --out detections.csv`` writes, so a download can be
    read back with :func:`wsi2rek.inference.read_detections` or scored with
    ``wsi2rek evaluate-detections``.
    """
    with tempfile.TemporaryDirectory(prefix="wsi2rek-app-") as folder:
        return write_csv(list(detections), Path(folder) / "detections.csv").read_bytes()


def detections_geojson(detections: Iterable[Detection]) -> bytes:
    """The detections as a QuPath GeoJSON FeatureCollection (:func:`wsi2rek.inference.to_geojson`).

    Each box is a closed Polygon with ``objectType`` ``"detection"``, a ``classification``
    (name and the colour the app draws it in) and the confidence in ``measurements``;
    QuPath's *File > Import objects* reads it.
    """
    return dumps(to_geojson(list(detections)), what="GeoJSON", indent=1).encode("utf-8")


# --- slide mode -------------------------------------------------------------------------


def list_slides(folder: Path) -> list[Path]:
    """The slide files directly in ``folder`` (by suffix, see :data:`SLIDE_SUFFIXES`), sorted.

    Raises:
        SlideFolderError: ``folder`` does not exist or is not a folder.
    """
    if not folder.is_dir():
        raise SlideFolderError(
            f"slide folder {str(folder)!r} ({SLIDES_DIR_ENV}) does not exist or is not a "
            "folder; point the variable at a folder of slides, or unset it",
            path=folder,
        )
    return sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SLIDE_SUFFIXES),
        key=lambda p: p.name.lower(),
    )


def clamp_region(x: int, y: int, size: int, dimensions: tuple[int, int]) -> Box:
    """A square level-0 region of side ``size`` at ``(x, y)``, moved/shrunk to fit the slide.

    The side is limited to :data:`MAX_REGION_SIZE` and to the slide's shorter side; the
    corner is moved so the whole region lies on the slide.
    """
    width, height = dimensions
    side = max(1, min(int(size), MAX_REGION_SIZE, width, height))
    left = min(max(0, int(x)), width - side)
    top = min(max(0, int(y)), height - side)
    return Box(left, top, left + side, top + side)


def draw_region(thumbnail: Image.Image, region: Box, dimensions: tuple[int, int]) -> Image.Image:
    """Outline level-0 ``region`` on a copy of a slide ``thumbnail``."""
    canvas = thumbnail.convert("RGB").copy()
    scale = canvas.width / dimensions[0]
    left, top, right, bottom = region.scale(scale).to_ints()
    width = max(2, round(min(canvas.size) / 150))
    ImageDraw.Draw(canvas).rectangle(
        (left, top, max(right, left + 1), max(bottom, top + 1)), outline=(213, 94, 0), width=width
    )
    return canvas


# --- sample image -----------------------------------------------------------------------


def sample_cells(width: int = 640, height: int = 480) -> tuple[Point, ...]:
    """Where :func:`sample_png` paints its dark cells (a fixed, readable layout)."""
    fractions = ((0.15, 0.2), (0.45, 0.3), (0.8, 0.18), (0.3, 0.7), (0.62, 0.75), (0.88, 0.62))
    return tuple(Point(round(fx * width), round(fy * height)) for fx, fy in fractions)


def sample_png(folder: Path, width: int = 640, height: int = 480) -> bytes:
    """A synthetic H&E-like PNG with the dark cells of :func:`sample_cells`, as bytes.

    Uses :func:`wsi2rek.testing.make_image` (Pillow only), writing into ``folder`` (a
    temporary folder the caller owns).
    """
    from wsi2rek.testing import make_image  # noqa: PLC0415 -- only when a sample is asked for

    path = make_image(
        folder / "wsi2rek-sample.png", width, height, cells=sample_cells(width, height), seed=0
    )
    return Path(path).read_bytes()

"""wsi2rek detector app: find cells in an image or a slide region, without or with AWS.

Start it with ``wsi2rek app`` (or ``streamlit run`` on this file). The offline demo detector
(the default) needs no AWS account; a Rekognition Custom Labels model version ARN can be
typed in the sidebar or set in ``WSI2REK_MODEL_ARN``. Slide mode appears when
``WSI2REK_SLIDES_DIR`` names a folder of slides. The logic lives in
:mod:`wsi2rek.app.logic`; this script only wires it to widgets.
"""

from __future__ import annotations

import functools
import hashlib
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from wsi2rek.app.logic import (
    MAX_REGION_SIZE,
    AppConfig,
    AppConfigError,
    SlideFolderError,
    UploadError,
    clamp_region,
    decode_image,
    detection_rows,
    detections_csv,
    detections_geojson,
    draw_detections,
    draw_region,
    filter_detections,
    list_slides,
    model_image_problem,
    sample_png,
    summary_text,
    translate_detections,
    validate_model_arn,
)
from wsi2rek.detection import Detection, RGBImage
from wsi2rek.errors import Wsi2RekError
from wsi2rek.slides import SlideSource

DetectFn = Callable[[RGBImage], Sequence[Detection]]

DEMO = "Offline demo detector"
MODEL = "Custom Labels model"
UPLOAD = "Upload an image"
SLIDE = "Region of a slide"
SAMPLE_NAME = "synthetic-sample.png"
TABLE_COLUMNS = {
    "label": st.column_config.TextColumn("label"),
    "confidence": st.column_config.NumberColumn("confidence", format="%.1f%%"),
    **{
        name: st.column_config.NumberColumn(f"{name} (px)", format="%.0f")
        for name in ("left", "top", "width", "height")
    },
}


# --- cached resources -------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def demo_detector() -> DetectFn:
    """The offline blob detector (finds the dark cells wsi2rek.testing paints)."""
    from wsi2rek.inference import BlobDetector  # noqa: PLC0415 -- on first use only

    return BlobDetector().detect


@st.cache_resource(show_spinner=False, max_entries=4)
def custom_labels_detector(
    arn: str, profile: str | None, region: str | None, endpoint_url: str | None
) -> DetectFn:
    """A Custom Labels model; boto3 is imported only when this is first called.

    ``profile``, ``region`` and ``endpoint_url`` are ``wsi2rek app``'s ``--profile``,
    ``--region`` and ``--endpoint-url`` (None: boto3's default credentials, the ARN's
    region, AWS's endpoint).
    """
    import boto3  # noqa: PLC0415 -- boto3 on first use only

    from wsi2rek.aws import CustomLabelsModel, make_rekognition_client  # noqa: PLC0415

    client = make_rekognition_client(
        session=boto3.session.Session(profile_name=profile),
        region_name=region or arn.split(":")[3],
        endpoint_url=endpoint_url,
    )
    # Ask for everything down to 0 % once: the slider then filters without a new
    # (billed) call.
    return functools.partial(CustomLabelsModel(arn, client=client).detect, min_confidence=0.0)


@st.cache_data(show_spinner=False, max_entries=64)
def detect_cached(
    detector_id: str,  # noqa: ARG001 - a cache key: Streamlit hashes it, the body needs not
    image_digest: str,  # noqa: ARG001 - a cache key, as above
    _detect: DetectFn,
    _image: RGBImage,
) -> list[Detection]:
    """Run a detector once per (detector, image); slider moves reuse the result.

    Arguments starting with ``_`` are not hashed by Streamlit: ``detector_id`` and
    ``image_digest`` identify them cheaply instead.
    """
    return list(_detect(_image))


def _close_slide(slide: SlideSource) -> None:
    slide.close()


@st.cache_resource(show_spinner=False, max_entries=8, on_release=_close_slide)
def slide_handle(path: str) -> SlideSource:
    """One open handle per slide file, shared by every session; closed when evicted."""
    from wsi2rek.slides import open_slide  # noqa: PLC0415 -- OpenSlide on first use only

    return open_slide(path)


@st.cache_data(show_spinner=False, max_entries=32)
def slide_thumbnail(
    path: str,
    modified_ns: int,  # noqa: ARG001 - a cache key: a rewritten file gets a new thumbnail
) -> Image.Image:
    """The slide's thumbnail (``modified_ns`` invalidates it when the file changes)."""
    return slide_handle(path).thumbnail(512)


@st.cache_data(show_spinner=False, max_entries=2)
def sample_image() -> bytes:
    """A synthetic H&E-like PNG with painted cells, for trying the app without data."""
    with tempfile.TemporaryDirectory(prefix="wsi2rek-app-") as folder:
        return sample_png(Path(folder))


# --- page sections ----------------------------------------------------------------------


def choose_detector(config: AppConfig) -> tuple[str, str]:
    """Sidebar detector choice; returns (kind, model ARN as typed)."""
    st.header("Detector")
    kind = st.radio(
        "Detector",
        (DEMO, MODEL),
        key="detector",
        label_visibility="collapsed",
        help="The demo detector runs offline and finds dark round cells; a Custom Labels "
        "model runs on AWS and needs credentials.",
    )
    arn = ""
    if kind == MODEL:
        arn = st.text_input(
            "Model version ARN",
            value=config.model_arn,
            key="arn",
            placeholder="arn:aws:rekognition:REGION:ACCOUNT:project/NAME/version/V/TS",
            help="Defaults to the WSI2REK_MODEL_ARN environment variable. The model must be "
            "running (`wsi2rek model start ARN`).",
        )
        st.caption(
            "A running model is billed per inference-unit hour until stopped: "
            "`wsi2rek model stop ARN` when you are done."
        )
        if config.aws_profile is not None:
            st.caption(f"AWS profile: {config.aws_profile}")
    return str(kind), arn


def resolve_detector(kind: str, arn: str, config: AppConfig) -> tuple[str, DetectFn]:
    """The detector's cache id and function; errors are shown, then the run stops."""
    if kind == DEMO:
        return "demo", demo_detector()
    if not arn.strip():  # nothing typed yet: a hint, not an error
        st.info(
            "Paste a model version ARN in the sidebar (or set WSI2REK_MODEL_ARN), or choose "
            "the offline demo detector."
        )
        st.stop()
    try:
        arn = validate_model_arn(arn)
        detect = custom_labels_detector(
            arn, config.aws_profile, config.aws_region, config.endpoint_url
        )
    except Wsi2RekError as exc:
        st.error(str(exc))
        st.stop()
    except Exception as exc:  # noqa: BLE001 - any AWS SDK failure is shown, never a traceback
        st.error(f"Could not set up the model: {type(exc).__name__}: {exc}")
        st.stop()
    return arn, detect


def upload_source(config: AppConfig) -> tuple[str, RGBImage] | None:
    """The uploaded (or sample) image, decoded with the size guards; None when there is none."""
    uploaded = st.file_uploader(
        "Upload a PNG or JPEG image",
        type=None,  # checked by content in decode_image, with a clear message
        key="upload",
        max_upload_size=config.max_upload_mb,
        help=f"At most {config.max_upload_mb} MB and {config.max_pixels / 1e6:g} megapixels.",
    )
    use_sample = st.checkbox(
        "No image at hand? Use a synthetic sample", key="sample", disabled=uploaded is not None
    )
    if uploaded is not None:
        name, data = uploaded.name, uploaded.getvalue()
    elif use_sample:
        name, data = SAMPLE_NAME, sample_image()
    else:
        return None
    try:
        image = decode_image(
            data, name, max_bytes=config.max_upload_bytes, max_pixels=config.max_pixels
        )
    except UploadError as exc:
        st.error(str(exc))
        return None
    return name, image


def slide_source(slides_dir: Path) -> tuple[str, RGBImage, tuple[int, int]] | None:
    """A slide region chosen in the sidebar, read at level 0, with its level-0 offset."""
    try:
        slides = list_slides(slides_dir)
    except SlideFolderError as exc:
        st.error(str(exc))
        return None
    if not slides:
        st.warning(f"No slides in {slides_dir}: add .svs/.tiff/... files or change the folder.")
        return None
    with st.sidebar:
        st.header("Slide region")
        path = st.selectbox("Slide", slides, format_func=lambda p: p.name, key="slide")
    try:
        handle = slide_handle(str(path))
        thumb = slide_thumbnail(str(path), path.stat().st_mtime_ns)
    except (Wsi2RekError, OSError) as exc:
        st.error(f"Cannot open {path.name}: {exc}")
        return None
    width, height = handle.dimensions
    with st.sidebar:
        side_max = min(MAX_REGION_SIZE, width, height)
        side = min(1024, side_max)
        # Defaults depend on the slide only: a default that followed the size would make
        # Streamlit reset x and y whenever the size changes.
        size = st.number_input("Size (px)", min(64, side_max), side_max, side, step=64, key="size")
        x = st.number_input("x (level 0)", 0, width - 1, (width - side) // 2, step=256, key="x")
        y = st.number_input("y (level 0)", 0, height - 1, (height - side) // 2, step=256, key="y")
    region = clamp_region(int(x), int(y), int(size), (width, height))
    left, top, right, bottom = region.to_ints()
    st.image(
        draw_region(thumb, region, (width, height)),
        caption=f"{path.name}: {width} x {height} px; region {right - left} px at ({left}, {top})",
        width=min(512, thumb.width),
    )
    try:
        image = handle.read_region(left, top, right - left, bottom - top)
    except (Wsi2RekError, OSError) as exc:
        st.error(f"Cannot read the region of {path.name}: {exc}")
        return None
    return f"{path.stem}-x{left}-y{top}", image, (left, top)


def show_results(
    name: str,
    image: RGBImage,
    found: Sequence[Detection],
    min_confidence: float,
    offset: tuple[int, int] | None,
) -> None:
    """The image with boxes, a count, the table and the downloads."""
    shown = filter_detections(found, min_confidence)
    exported = translate_detections(shown, *offset) if offset else shown
    picture, details = st.columns([3, 2], gap="medium")
    with picture:
        st.image(draw_detections(image, shown), caption=name, width="stretch")
    with details:
        st.metric("Detections", len(shown))
        st.markdown(summary_text(len(shown), len(found), min_confidence))
        stem = Path(name).stem
        st.download_button(
            "Download CSV",
            detections_csv(exported),
            file_name=f"{stem}-detections.csv",
            mime="text/csv",
            on_click="ignore",
            key="csv",
            icon=":material/download:",
            help="Readable by `wsi2rek evaluate-detections` and spreadsheets.",
        )
        st.download_button(
            "Download GeoJSON",
            detections_geojson(exported),
            file_name=f"{stem}-detections.geojson",
            mime="application/geo+json",
            on_click="ignore",
            key="geojson",
            icon=":material/download:",
            help="For QuPath: File > Import objects.",
        )
        if offset:
            st.caption("Table and downloads use level-0 slide pixels.")
    if shown:
        st.dataframe(
            detection_rows(exported), hide_index=True, width="stretch", column_config=TABLE_COLUMNS
        )


def main() -> None:
    """Lay out the page and run the chosen detector on the chosen image."""
    st.set_page_config(page_title="wsi2rek detector", page_icon="🔬", layout="wide")
    try:
        config = AppConfig.from_env()
    except AppConfigError as exc:
        st.error(str(exc))
        st.stop()
    st.title("wsi2rek detector")
    st.caption(
        "Find mitotic figures (or any trained label) in an image or a slide region with a "
        "Rekognition Custom Labels model, or offline with the demo detector."
    )
    with st.sidebar:
        kind, arn = choose_detector(config)
        min_confidence = st.slider("Minimum confidence (%)", 0, 100, 50, key="min_confidence")
        if config.slides_dir is not None:
            st.header("Source")
            source = st.radio("Source", (UPLOAD, SLIDE), key="source", label_visibility="collapsed")
        else:
            source = UPLOAD
            st.caption("Set WSI2REK_SLIDES_DIR to a folder of slides to enable slide mode.")
    detector_id, detect = resolve_detector(kind, arn, config)

    offset: tuple[int, int] | None = None
    if source == SLIDE and config.slides_dir is not None:
        chosen = slide_source(config.slides_dir)
        if chosen is None:
            return
        name, image, offset = chosen
    else:
        uploaded = upload_source(config)
        if uploaded is None:
            st.info("Upload a PNG or JPEG image, or tick the synthetic sample, to start.")
            return
        name, image = uploaded

    problem = model_image_problem(image.shape[1], image.shape[0]) if kind == MODEL else None
    if problem:
        st.error(problem)
        return
    # Hash the pixel buffer in place (no copy) to key the detection cache.
    digest = f"{hashlib.sha256(np.ascontiguousarray(image).data).hexdigest()}{image.shape}"
    with st.spinner("Detecting..."):
        try:
            found = detect_cached(detector_id, digest, detect, image)
        except Wsi2RekError as exc:
            st.error(str(exc))
            return
        except Exception as exc:
            # A remote model's failure is shown, not raised; the demo's would be a bug.
            if kind == DEMO:
                raise
            st.error(f"The model call failed: {type(exc).__name__}: {exc}")
            return
    show_results(name, image, found, float(min_confidence), offset)


main()

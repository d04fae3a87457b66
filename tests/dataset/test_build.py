"""build_dataset on real synthetic slides: layout, determinism, executors, resume, errors."""

from __future__ import annotations

import concurrent.futures as cf
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import pytest
from PIL import Image

from tests.recording import Recorder
from wsi2rek.dataset import (
    DatasetSummary,
    Manifest,
    build_dataset,
    validate_manifest,
    write_previews,
)
from wsi2rek.errors import (
    DatasetError,
    DatasetMismatchError,
    ParameterError,
    SamplingError,
    SlideNotFoundError,
)
from wsi2rek.geometry import Box
from wsi2rek.sampling import LabeledBox, PatchPlan, PatchSpec, Skip
from wsi2rek.testing import make_slide

T = TypeVar("T")
SIZE = 128


@pytest.fixture(scope="module")
def slides(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("slides")
    a = make_slide(folder / "alpha.svs", 1600, 1200, cells=[(300, 300), (900, 700)], seed=1)
    b = make_slide(folder / "beta.svs", 1200, 1000, cells=[(500, 500)], seed=2)
    return {"alpha.svs": str(a), "beta.svs": str(b)}


def make_plan(slides: dict[str, str], n: int = 12, *, seed: int = 0) -> PatchPlan:
    rng = np.random.default_rng(seed)
    patches = []
    for i in range(n):
        name = "alpha.svs" if i % 3 else "beta.svs"
        x, y = int(rng.integers(0, 1000)), int(rng.integers(0, 800))
        boxes = []
        if i % 4:
            label = "mitotic figure" if i % 2 else "look-alike"
            boxes.append(LabeledBox(label, Box.from_xywh(x + 20, y + 30, 40, 40), annotation=i))
        split = "test" if name == "beta.svs" else "train"
        patches.append(PatchSpec(name, Box(x, y, x + SIZE, y + SIZE), split, boxes, target=i))
    objects = {"alpha.svs": (LabeledBox("mitotic figure", Box(290, 290, 310, 310)),)}
    return PatchPlan(
        patches,
        slides,
        ("mitotic figure", "look-alike"),
        params={"seed": seed, "label_map": {"mitotic figure": [2], "look-alike": [1]}},
        objects=objects,
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file's bytes, with dataset.json's ``built_at`` blanked."""
    out: dict[str, bytes] = {}
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            data = f.read_bytes()
            if f.name == "dataset.json":
                info = json.loads(data)
                info["built_at"] = None
                data = json.dumps(info, sort_keys=True).encode()
            out[str(f.relative_to(folder))] = data
    return out


@pytest.fixture(scope="module")
def built(
    slides: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[PatchPlan, Path, DatasetSummary]:
    """One in-process build of the 12-patch plan, read by the tests below (never written to)."""
    plan = make_plan(slides)
    out = tmp_path_factory.mktemp("built") / "ds"
    return plan, out, build_dataset(plan, out, workers=0)


def test_a_first_build_writes_every_image(built: tuple[PatchPlan, Path, DatasetSummary]) -> None:
    _, _, summary = built
    assert summary.ok
    assert (summary.images, summary.written, summary.reused) == (12, 12, 0)


def test_the_folder_holds_manifests_records_and_previews(
    built: tuple[PatchPlan, Path, DatasetSummary],
) -> None:
    _, out, _ = built
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    expected = {"train.manifest", "test.manifest", "patches.jsonl", "dataset.json", "plan.json"}
    assert expected | {"preview/alpha.png", "preview/beta.png"} <= files


def test_each_patch_is_an_rgb_png_of_the_window_size(
    built: tuple[PatchPlan, Path, DatasetSummary],
) -> None:
    plan, out, _ = built
    for spec in plan.patches:
        with Image.open(out / "images" / spec.split / f"{spec.name}.png") as im:
            assert (im.format, im.mode, im.size) == ("PNG", "RGB", (SIZE, SIZE))


def test_the_train_manifest_lists_the_train_patches_in_plan_order(
    built: tuple[PatchPlan, Path, DatasetSummary],
) -> None:
    plan, out, _ = built
    train = Manifest.read(out / "train.manifest")
    assert [ln.source_ref for ln in train.lines] == [
        f"images/train/{p.name}.png" for p in plan.split("train")
    ]
    assert train.lines[0].boxes == ((0, 20, 30, 40, 40),)
    assert train.lines[0].class_map == {0: "mitotic figure"}
    assert validate_manifest(out / "train.manifest").ok


def test_patches_jsonl_has_one_row_per_patch(
    built: tuple[PatchPlan, Path, DatasetSummary],
) -> None:
    plan, out, _ = built
    rows = [json.loads(x) for x in (out / "patches.jsonl").read_text().splitlines()]
    assert len(rows) == 12
    assert rows[1]["labels"] == {"mitotic figure": 1}
    assert rows[1]["window"] == plan.patches[1].to_dict()["window"]


def test_dataset_json_records_the_plan_and_the_versions(
    built: tuple[PatchPlan, Path, DatasetSummary],
) -> None:
    plan, out, _ = built
    info = json.loads((out / "dataset.json").read_text())
    assert (info["status"], info["fingerprint"], info["seed"]) == (
        "complete",
        plan.fingerprint(),
        0,
    )
    assert info["label_map"] == {"mitotic figure": [2], "look-alike": [1]}
    assert info["labels"] == {"mitotic figure": 0, "look-alike": 1}
    assert set(info["versions"]) >= {"wsi2rek", "openslide", "numpy", "Pillow"}


def test_background_patches_are_counted_in_dataset_json_and_the_summary(
    built: tuple[PatchPlan, Path, DatasetSummary],
) -> None:
    plan, out, summary = built
    info = json.loads((out / "dataset.json").read_text())
    background = sum(1 for p in plan.split("train") if not p.boxes)
    assert background > 0
    assert info["counts"]["images"] == 12
    assert info["counts"]["splits"]["train"]["background"] == background
    assert summary.validation["train"].background == background


def test_same_folder_whatever_the_worker_count(slides: dict[str, str], tmp_path: Path) -> None:
    plan = make_plan(slides, n=24)
    build_dataset(plan, tmp_path / "serial", workers=0, batch_size=5)
    summary = build_dataset(plan, tmp_path / "pool", workers=2, batch_size=5)
    assert summary.workers == 2
    assert snapshot(tmp_path / "serial") == snapshot(tmp_path / "pool")


def test_thread_pool_executor(slides: dict[str, str], tmp_path: Path) -> None:
    plan = make_plan(slides)
    build_dataset(plan, tmp_path / "serial", workers=0, preview=False)
    with cf.ThreadPoolExecutor(3) as pool:
        build_dataset(plan, tmp_path / "threads", executor=pool, preview=False, batch_size=2)
    assert snapshot(tmp_path / "serial") == snapshot(tmp_path / "threads")


def test_dask_local_cluster_executor(slides: dict[str, str], tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    plan = make_plan(slides)
    build_dataset(plan, tmp_path / "serial", workers=0, preview=False)
    with (
        distributed.LocalCluster(
            processes=True,
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        summary = build_dataset(
            plan, tmp_path / "dask", executor=client.get_executor(), preview=False, batch_size=3
        )
    assert summary.workers == -1
    assert summary.written == 12
    assert snapshot(tmp_path / "serial") == snapshot(tmp_path / "dask")


def test_jpeg_output(slides: dict[str, str], tmp_path: Path) -> None:
    plan = make_plan(slides, n=4)
    build_dataset(plan, tmp_path, image_format="jpeg", quality=80, workers=0, preview=False)
    images = sorted((tmp_path / "images").rglob("*.jpg"))
    assert len(images) == 4
    assert all(p.read_bytes()[:3] == b"\xff\xd8\xff" for p in images)
    assert Manifest.read(tmp_path / "train.manifest").lines[0].source_ref.endswith(".jpg")
    info = json.loads((tmp_path / "dataset.json").read_text())
    assert info["build"]["image_format"] == "jpeg"
    assert info["build"]["quality"] == 80


def test_rerun_after_lost_images_writes_only_those(slides: dict[str, str], tmp_path: Path) -> None:
    plan = make_plan(slides)
    out = tmp_path / "ds"
    build_dataset(plan, out, workers=0, preview=False)
    before = snapshot(out)
    lost = sorted((out / "images" / "train").iterdir())[:3]
    for p in lost:
        p.unlink()
    (out / "images" / "train" / ".stale.png.123.tmp").write_bytes(b"half")
    summary = build_dataset(plan, out, workers=0, preview=False)
    assert summary.written == 3
    assert summary.reused == 9
    assert snapshot(out) == before


class FailingExecutor(cf.Executor):
    """Runs tasks inline, then fails every task after the first ``ok`` ones."""

    def __init__(self, ok: int) -> None:
        self.ok = ok
        self.calls = 0

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> cf.Future[T]:
        future: cf.Future[T] = cf.Future()
        self.calls += 1
        if self.calls > self.ok:
            future.set_exception(OSError("worker lost"))
        else:
            future.set_result(fn(*args, **kwargs))
        return future


def test_interrupted_build_resumes_to_the_same_folder(
    slides: dict[str, str], tmp_path: Path
) -> None:
    plan = make_plan(slides)
    build_dataset(plan, tmp_path / "reference", workers=0, preview=False)
    out = tmp_path / "ds"
    with pytest.raises(OSError, match="worker lost"):
        build_dataset(plan, out, executor=FailingExecutor(ok=2), batch_size=2, preview=False)
    partial = list((out / "images").rglob("*.png"))
    assert len(partial) == 4
    assert not (out / "train.manifest").exists()
    assert json.loads((out / "dataset.json").read_text())["status"] == "building"
    summary = build_dataset(plan, out, workers=0, preview=False)
    assert summary.written == 8
    assert snapshot(out) == snapshot(tmp_path / "reference")


def test_different_plan_or_options_are_refused(slides: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "ds"
    build_dataset(make_plan(slides), out, workers=0, preview=False)
    before = snapshot(out)
    with pytest.raises(DatasetMismatchError, match="fingerprint") as info:
        build_dataset(make_plan(slides, seed=5), out, workers=0, preview=False)
    assert info.value.path == out
    assert "overwrite" in str(info.value)
    # Not just two hashes: the refusal names the planning parameter that changed.
    assert "planning parameters changed: seed: 0 -> 5" in str(info.value)
    with pytest.raises(DatasetMismatchError, match="image_format"):
        build_dataset(make_plan(slides), out, image_format="jpeg", workers=0, preview=False)
    with pytest.raises(DatasetMismatchError, match="job_name"):
        build_dataset(make_plan(slides), out, job_name="other", workers=0, preview=False)
    assert snapshot(out) == before


def test_overwrite_replaces_a_different_dataset(slides: dict[str, str], tmp_path: Path) -> None:
    build_dataset(make_plan(slides), tmp_path / "ds", workers=0, preview=False)
    (tmp_path / "ds" / "train.s3.manifest").write_text("stale upload of the old dataset\n")
    other = make_plan(slides, seed=5)
    build_dataset(other, tmp_path / "ds", workers=0, preview=False, overwrite=True)
    build_dataset(other, tmp_path / "fresh", workers=0, preview=False)
    assert snapshot(tmp_path / "ds") == snapshot(tmp_path / "fresh")


def test_images_of_unknown_origin_are_refused(slides: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "images" / "train").mkdir(parents=True)
    (tmp_path / "images" / "train" / "x.png").write_bytes(b"x")
    with pytest.raises(DatasetMismatchError, match=r"no dataset\.json"):
        build_dataset(make_plan(slides), tmp_path, workers=0)


def test_duplicate_patches_are_written_once_and_counted(
    slides: dict[str, str], tmp_path: Path
) -> None:
    plan = make_plan(slides, n=3)
    doubled = PatchPlan(
        (*plan.patches, plan.patches[1]), plan.slide_paths, plan.labels, params=plan.params
    )
    summary = build_dataset(doubled, tmp_path, workers=0, preview=False)
    assert summary.images == 3
    assert [s.reason for s in summary.skipped] == ["duplicate_patch"]
    info = json.loads((tmp_path / "dataset.json").read_text())
    assert info["skipped_by_reason"] == {"duplicate_patch": 1}


def test_clashing_patch_names_are_an_error(slides: dict[str, str], tmp_path: Path) -> None:
    plan = make_plan(slides, n=3)
    p = plan.patches[1]
    clash = PatchSpec(p.slide, p.window, p.split, (), target=99)
    bad = PatchPlan((*plan.patches, clash), plan.slide_paths, plan.labels)
    with pytest.raises(DatasetError, match="two different patches"):
        build_dataset(bad, tmp_path / "ds", workers=0)
    assert not (tmp_path / "ds").exists()


def _with(plan: PatchPlan, **changes: Any) -> PatchPlan:
    fields: dict[str, Any] = {
        "patches": plan.patches,
        "slide_paths": plan.slide_paths,
        "labels": plan.labels,
    }
    fields.update(changes)
    return PatchPlan(**fields)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (
            lambda plan: _with(plan, patches=[PatchSpec("alpha.svs", Box(0, 0, 32, 32), "train")]),
            SamplingError,
            "64 to 4096",
        ),
        (
            lambda plan: _with(
                plan, patches=[PatchSpec("alpha.svs", Box(0, 0, 2000, 64), "train")]
            ),
            SamplingError,
            "aspect ratio",
        ),
        (
            lambda plan: _with(plan, slide_paths={"alpha.svs": "/nonexistent/alpha.svs"}),
            DatasetError,
            "no path",
        ),
        (
            lambda plan: _with(
                plan,
                slide_paths={"alpha.svs": "/nonexistent/alpha.svs", "beta.svs": "/none/b.svs"},
            ),
            SlideNotFoundError,
            "not found",
        ),
        (lambda plan: _with(plan, labels=("mitotic figure",)), DatasetError, "look-alike"),
    ],
    ids=["too small", "aspect", "unknown slide", "missing slide file", "unknown label"],
)
def test_bad_plans_fail_before_writing_anything(
    slides: dict[str, str],
    tmp_path: Path,
    change: Callable[[PatchPlan], PatchPlan],
    error: type[Exception],
    match: str,
) -> None:
    plan = change(make_plan(slides))
    with pytest.raises(error, match=match):
        build_dataset(plan, tmp_path / "ds", workers=0)
    assert not (tmp_path / "ds").exists()


def test_an_empty_plan_is_an_error(slides: dict[str, str], tmp_path: Path) -> None:
    empty = PatchPlan((), slides, ("a",), skipped=[Skip("slide_missing", slide="x.svs")])
    with pytest.raises(DatasetError, match="slide_missing"):
        build_dataset(empty, tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def test_creation_date_is_fixed_unless_given(slides: dict[str, str], tmp_path: Path) -> None:
    plan = make_plan(slides, n=3)
    build_dataset(plan, tmp_path / "a", workers=0, preview=False)
    build_dataset(
        plan, tmp_path / "b", workers=0, preview=False, creation_date="2024-05-01T10:00:00"
    )
    assert Manifest.read(tmp_path / "a" / "train.manifest").lines[0].creation_date == (
        "2000-01-01T00:00:00.000000"
    )
    assert Manifest.read(tmp_path / "b" / "train.manifest").lines[0].creation_date == (
        "2024-05-01T10:00:00"
    )


def test_previews_regenerate_from_the_folder(slides: dict[str, str], tmp_path: Path) -> None:
    plan = make_plan(slides)
    build_dataset(plan, tmp_path, workers=0, preview=False)
    assert not (tmp_path / "preview").exists()
    written = write_previews(tmp_path, max_size=300)
    assert [p.name for p in written] == ["alpha.png", "beta.png"]
    with Image.open(written[0]) as im:
        assert im.mode == "RGB"
        left, top, right, bottom = (int(v) for v in str(im.info["wsi2rek:slide-area"]).split(","))
        assert max(right - left, bottom - top) == 300  # the slide; title and legend outside
        pixels = np.asarray(im)
    # training windows are drawn in blue (30, 90, 255)
    assert ((pixels == (30, 90, 255)).all(axis=-1)).sum() > 50


def test_previews_need_a_plan(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"plan\.json"):
        write_previews(tmp_path)


def test_previews_show_background_windows_in_grey_and_outline_tissue(
    slides: dict[str, str], tmp_path: Path
) -> None:
    name = "alpha.svs"
    plan = PatchPlan(
        [
            PatchSpec(name, Box(0, 0, 512, 512), "train", sampler="background"),
            PatchSpec(
                name,
                Box(1024, 1024, 1536, 1536),
                "train",
                [LabeledBox("mitotic figure", Box(1200, 1200, 1250, 1250))],
            ),
        ],
        {name: slides[name]},
        ("mitotic figure",),
    )
    (written,) = write_previews(plan, tmp_path, max_size=400)
    pixels = np.asarray(Image.open(written))

    def count(colour: tuple[int, int, int]) -> int:
        return int((pixels == colour).all(axis=-1).sum())

    assert count((120, 120, 120)) > 50  # the background window
    assert count((30, 90, 255)) > 50  # the training window
    assert count((0, 150, 0)) > 50  # the tissue outline


@pytest.mark.parametrize("image_format", ["png", "jpeg"])
def test_either_slide_backend_gives_the_same_bytes(
    slides: dict[str, str], tmp_path: Path, image_format: Literal["png", "jpeg"]
) -> None:
    """OpenSlide (the reference) and the tifffile backend give byte-identical datasets."""
    plan = make_plan(slides, 24)
    ref = tmp_path / "openslide"
    build_dataset(
        plan, ref, workers=0, image_format=image_format, slide_backend="openslide", preview=False
    )
    fast = tmp_path / "tifffile"
    build_dataset(
        plan, fast, workers=2, image_format=image_format, slide_backend="tifffile", preview=False
    )
    assert snapshot(ref) == snapshot(fast)


def test_unknown_slide_backend_is_refused(slides: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="slide_backend must be one of auto"):
        build_dataset(make_plan(slides), tmp_path / "ds", slide_backend="vips")
    assert not (tmp_path / "ds").exists()


def test_progress_comes_from_tqdm_auto_so_notebooks_render_it(
    slides: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tqdm.auto picks the notebook widget inside Jupyter and the text bar elsewhere.
    import tqdm.auto

    made: list[str] = []

    class Recording(tqdm.auto.tqdm):  # type: ignore[type-arg]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append(str(kwargs.get("desc")))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(tqdm.auto, "tqdm", Recording)
    build_dataset(make_plan(slides, 4), tmp_path / "ds", workers=0, progress=True)
    assert made == ["build"]


def test_a_progress_subscriber_counts_the_patches_written(
    slides: dict[str, str], tmp_path: Path
) -> None:
    """One "build" job of the patches to write; a resumed build counts only the missing."""
    out = tmp_path / "ds"
    first = Recorder()
    build_dataset(make_plan(slides), out, workers=0, batch_size=5, progress=first)
    assert first.starts == [("start", "build", 12, "patch", 0)]
    steps = [e[1] for e in first.events if e[0] == "progress"]
    assert sum(steps) == 12
    assert max(steps) <= 5  # one event per batch of at most batch_size patches
    assert first.errors == [None]
    for image in sorted((out / "images" / "train").iterdir())[:3]:
        image.unlink()
    again = Recorder()
    build_dataset(make_plan(slides), out, workers=0, progress=again)
    assert again.starts == [("start", "build", 3, "patch", 0)]
    assert again.advanced == 3


def test_a_failing_build_reports_its_error_to_the_subscriber(
    slides: dict[str, str], tmp_path: Path
) -> None:
    rec = Recorder()
    with cf.ThreadPoolExecutor(2) as pool:
        pool.shutdown()  # every submit now fails: the executor is gone
        with pytest.raises(RuntimeError):
            build_dataset(make_plan(slides), tmp_path / "ds", executor=pool, progress=rec)
    assert rec.advanced == 0
    assert len(rec.errors) == 1
    assert isinstance(rec.errors[0], RuntimeError)


def test_progress_must_be_a_bool_or_a_subscriber(slides: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="progress must be True, False or an object"):
        build_dataset(make_plan(slides), tmp_path / "ds", workers=0, progress="yes")  # type: ignore[arg-type]

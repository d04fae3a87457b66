"""The AWS blog's mitotic-figure workflow, end to end, with wsi2rek.

Reproduces "Detect mitotic figures in whole slide images with Amazon Rekognition" on the
MITOS_WSI_CMC dataset (Aubreville et al., Sci Data 7, 417, 2020), fixing what the blog's
notebook got wrong: split by slide file name (the paper's 7 test slides), look-alikes as
a second label, a real containment margin, one seed, F1 on whole slides.

Steps (``--until STEP`` stops after STEP):

1. ``build``: plan 512 px patches around mitotic figures (class 2) and look-alikes
   (class 1), split by slide, and write images + manifests.
2. ``validate``: check both manifests against Rekognition's rules, locally.
3. ``upload``: (``--bucket``) upload images and manifests to S3.
4. ``train``: create a Custom Labels project and datasets, train a model version.
5. ``evaluate``: read Rekognition's evaluation (F1 per label).
6. ``detect``: start the model (always stopped again), run it over each whole test slide,
   score against the database with the MITOS_WSI protocol (a detection counts when its
   centre lies within 25 px of an unmatched annotated centre) and print F1 next to the
   paper's single-stage RetinaNet baselines.

Real data (about 37 GB of slides from figshare, databases from the MITOS_WSI_CMC
GitHub repository)::

    python examples/mitosis_workflow.py --db MITOS_WSI_CMC_MEL.sqlite --slides WSI/ \\
        --out runs/mel --until validate
    python examples/mitosis_workflow.py --db MITOS_WSI_CMC_MEL.sqlite --slides WSI/ \\
        --out runs/mel --bucket my-bucket --prefix mitosis/mel --dry-run

Synthetic data (what CI runs; no AWS: the offline ``BlobDetector`` stands in for the
model in the ``detect`` step)::

    python examples/mitosis_workflow.py --synthetic --out runs/synthetic

Training costs money (see the docs' AWS setup page): without ``--bucket`` nothing touches
AWS, and ``--dry-run`` shows what would be uploaded and trained without doing it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from wsi2rek.annotations import Annotation, SlideRunnerDB
from wsi2rek.dataset import DatasetSummary, ValidationReport, build_dataset, validate_manifest
from wsi2rek.detection import Detector
from wsi2rek.errors import Wsi2RekError
from wsi2rek.geometry import Box, Point
from wsi2rek.inference import (
    MITOS_MATCH_RADIUS_PX,
    BlobDetector,
    EvaluationResult,
    SlideDetections,
    detect_slide,
    detector_id,
    evaluate_detections,
    ground_truth_from_db,
)
from wsi2rek.labels import LabelMap
from wsi2rek.sampling import ObjectSampler, plan_dataset

if TYPE_CHECKING:  # boto3 and the fake server are only imported for the AWS steps
    from mypy_boto3_rekognition import RekognitionClient
    from mypy_boto3_s3 import S3Client

    from wsi2rek.aws import CustomLabelsModel
    from wsi2rek.testing.fake_rekognition import FakeRekognitionServer

#: The paper's 7 test slides, by file name (never by database row id: see the erratum).
CMC_TEST_SLIDES = (
    "2d56d1902ca533a5b509.svs",
    "69a02453620ade0edefd.svs",
    "4eee7b944ad5e46c60ce.svs",
    "b1bdee8e5e3372174619.svs",
    "e09512d530d933e436d5.svs",
    "022857018aa597374b6c.svs",
    "13528f1921d4f1f15511.svs",
)
#: MITOS_WSI_CMC class ids: 2 = mitotic figure, 1 = mitotic-figure look-alike.
LABELS = ("mitotic figure=2", "look-alike=1")
TARGET = "mitotic figure"
#: Published single-stage RetinaNet F1 on the 7 test slides, per database variant.
PUBLISHED_F1 = {"MEL": 0.684, "ODAEL": 0.699, "CODAEL": 0.726}
STEPS = ("build", "validate", "upload", "train", "evaluate", "detect")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--synthetic", action="store_true", help="generate small slides + DB")
    data.add_argument("--db", type=Path, help="MITOS_WSI_CMC_{MEL,ODAEL,CODAEL}.sqlite")
    parser.add_argument("--slides", type=Path, help="folder with the 21 .svs slides (--db)")
    parser.add_argument("--out", type=Path, default=Path("mitosis-run"), help="output folder")
    parser.add_argument("--until", choices=STEPS, default="detect", help="last step to run")
    parser.add_argument("--patch-size", type=int, default=512)
    parser.add_argument("--margin", type=int, default=16)
    parser.add_argument("--edge-policy", choices=("reject", "clip", "drop"), default="reject")
    parser.add_argument(
        "--per-slide", type=int, default=None, help="windows per slide (default 100; 6 synthetic)"
    )
    parser.add_argument("--format", choices=("png", "jpeg"), default="png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="build processes")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a dataset built with other options"
    )
    aws = parser.add_argument_group("AWS (every step skipped without --bucket)")
    aws.add_argument("--bucket", help="S3 bucket for images, manifests and training output")
    aws.add_argument("--prefix", default="wsi2rek/mitosis", help="S3 key prefix")
    aws.add_argument("--region", default=None, help="AWS region (default: your profile's)")
    aws.add_argument("--project", default="wsi2rek-mitotic-figures", help="project name")
    aws.add_argument("--version", default="v1", help="model version name")
    aws.add_argument("--dry-run", action="store_true", help="show AWS steps, do not run them")
    aws.add_argument("--training-hours", type=float, default=24.0, help="training deadline")
    aws.add_argument("--tps", type=float, default=5.0, help="detect calls per second")
    aws.add_argument(
        "--fake-aws",
        action="store_true",
        help="run the AWS steps against local moto S3 + wsi2rek's FAKE Rekognition (no cost)",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    args = parser.parse_args(argv)
    if args.db is not None and args.slides is None:
        parser.error("--db needs --slides DIR (the folder holding the .svs files)")
    if args.fake_aws:
        args.bucket = args.bucket or "wsi2rek-fake-bucket"
        args.region = args.region or "us-east-1"
    if args.per_slide is None:
        args.per_slide = 6 if args.synthetic else 100
    return args


def log(args: argparse.Namespace, message: str) -> None:
    """Progress for humans: on stderr with --json, so stdout stays machine-readable."""
    print(message, file=sys.stderr if args.json else sys.stdout, flush=True)


def runs(args: argparse.Namespace, step: str) -> bool:
    """True when ``step`` is at or before ``--until``."""
    return STEPS.index(step) <= STEPS.index(args.until)


# --- data -------------------------------------------------------------------------------


def make_synthetic_data(folder: Path, *, seed: int) -> tuple[Path, Path]:
    """Four small slides with painted mitoses and a matching SlideRunner database.

    Two slides carry names of the paper's test slides, so the split below runs exactly as
    on the real data. Mitotic figures are painted as dark cells (the offline BlobDetector
    finds them); look-alikes are annotated but not painted. All objects lie in tissue.
    """
    from wsi2rek.testing import make_slide, make_sliderunner_db, spot

    slides_dir = folder / "slides"
    slides_dir.mkdir(parents=True, exist_ok=True)
    names = ["a1f3synthetic000001.svs", "b7c2synthetic000002.svs", *CMC_TEST_SLIDES[:2]]
    rng = np.random.default_rng(seed)
    width, height = 2400, 1800
    annotations: list[Annotation] = []
    for uid, name in enumerate(names, start=1):
        points = tissue_points(folder, rng, 24, width, height, seed=seed + uid)
        mitoses, lookalikes = points[:12], points[12:]
        path = slides_dir / name
        if not path.exists():
            make_slide(path, width, height, cells=mitoses, seed=seed + uid)
        annotations += [spot(uid, p.x, p.y, 2) for p in mitoses]
        annotations += [spot(uid, p.x, p.y, 1) for p in lookalikes]
    db = folder / "MITOS_WSI_CMC_synthetic.sqlite"
    if not db.exists():
        make_sliderunner_db(
            db,
            names,
            annotations,
            classes={1: "Mitotic figure lookalike", 2: "Mitotic figure"},
        )
    return db, slides_dir


def tissue_points(
    folder: Path, rng: np.random.Generator, count: int, width: int, height: int, *, seed: int
) -> list[Point]:
    """``count`` seeded points well inside the tissue of the slide ``make_slide`` draws.

    The tissue layout of a synthetic slide scales with its size, so a slide 8 times
    smaller with the same seed shows where the tissue will be.
    """
    from wsi2rek.slides import open_slide
    from wsi2rek.testing import make_slide
    from wsi2rek.tissue import tissue_mask

    scale = 8
    small = make_slide(folder / f"layout-{seed}.svs", width // scale, height // scale, seed=seed)
    with open_slide(small) as slide:
        mask = tissue_mask(slide)
    small.unlink()
    points: list[Point] = []
    tries = 0
    while len(points) < count and tries < 100_000:
        tries += 1
        x, y = rng.uniform(80, width - 80), rng.uniform(80, height - 80)
        candidate = Point(float(round(x)), float(round(y)))
        near = Box.around(Point(x / scale, y / scale), 80 / scale)
        if mask.fraction(near) < 0.999:
            continue
        if all(candidate.distance(p) >= 90 for p in points):
            points.append(candidate)
    return points


def test_slides_in(db: SlideRunnerDB, *, require_all: bool) -> list[str]:
    """The paper's test slides present in ``db`` (all 7 are required for the real data)."""
    present = {record.filename.lower(): record.filename for record in db.slides()}
    found = [present[name] for name in CMC_TEST_SLIDES if name in present]
    missing = [name for name in CMC_TEST_SLIDES if name not in present]
    if require_all and missing:
        raise SystemExit(
            f"error: the database {db.path} lacks test slides {missing}; is it a "
            "MITOS_WSI_CMC database (MEL, ODAEL or CODAEL)?"
        )
    return found


def variant_of(db_path: Path) -> str | None:
    """MEL, ODAEL or CODAEL from the database's file name, if it names one."""
    stem = db_path.stem.upper()
    for variant in ("CODAEL", "ODAEL", "MEL"):  # CODAEL contains ODAEL: test it first
        if variant in stem:
            return variant
    return None


# --- steps ------------------------------------------------------------------------------


def build(
    args: argparse.Namespace, db: SlideRunnerDB, slides_dir: Path, test: Sequence[str]
) -> DatasetSummary:
    plan = plan_dataset(
        db,
        slides_dir,
        LabelMap.parse(LABELS),
        sampler=ObjectSampler(
            patch_size=args.patch_size,
            margin=args.margin,
            per_slide=args.per_slide,
            edge_policy=args.edge_policy,
        ),
        test_slides=test,
        seed=args.seed,
    )
    log(args, f"planned {len(plan.patches)} patches ({len(plan.skipped)} inputs skipped)")
    summary = build_dataset(
        plan,
        args.out / "dataset",
        image_format=args.format,
        workers=args.workers,
        progress=not args.json and sys.stderr.isatty(),
        job_name="wsi2rek-mitosis",
        overwrite=args.overwrite,
    )
    for split, counts in summary.splits.items():
        log(args, f"{split}: {counts['images']} images, labels {dict(counts['labels'])}")
    return summary


def validate(args: argparse.Namespace) -> dict[str, ValidationReport]:
    dataset = args.out / "dataset"
    train = dataset / "train.manifest"
    reports = {"train": validate_manifest(train)}
    if (dataset / "test.manifest").exists():
        reports["test"] = validate_manifest(dataset / "test.manifest", train=train)
    for split, report in reports.items():
        status = "ok" if report.ok else f"{len(report.errors)} errors"
        log(args, f"validate {split}.manifest: {status}, {report.lines} lines, {report.labels}")
        for issue in report.errors[:10]:
            log(args, f"  line {issue.line}: {issue.code}: {issue.message}")
    return reports


def detect_and_score(
    args: argparse.Namespace,
    db: SlideRunnerDB,
    slides_dir: Path,
    test: Sequence[str],
    detector: Detector,
    *,
    max_tps: float | None,
) -> tuple[EvaluationResult, dict[str, SlideDetections]]:
    """Whole-slide detection on the test slides, scored with the MITOS_WSI protocol."""
    found: dict[str, SlideDetections] = {}
    truth: dict[str, list[Point]] = {}
    # One cache folder per detector: a rerun resumes, another model starts afresh.
    key = hashlib.sha256(detector_id(detector).encode()).hexdigest()[:12]
    cache_dir = args.out / "detections" / key
    for name in test:
        found[name] = detect_slide(
            slides_dir / name,
            detector,
            tile_size=args.patch_size,
            overlap=64,  # more than a 50 px mitotic-figure box
            max_tps=max_tps,
            cache=cache_dir / f"{Path(name).stem}.cache.jsonl",
        )
        truth[name] = ground_truth_from_db(db, name, {TARGET: [2]})[TARGET]
        log(args, f"detect {name}: {len(found[name].detections)} detections")
    result = evaluate_detections(found, truth, radius_px=MITOS_MATCH_RADIUS_PX, label=TARGET)
    return result, found


def report_f1(args: argparse.Namespace, result: EvaluationResult) -> dict[str, Any]:
    variant = None if args.synthetic else variant_of(args.db)
    log(args, "slide                          TP    FP    FN     F1")
    for name, metrics in result.per_slide.items():
        log(
            args,
            f"{name:<28} {metrics.tp:5d} {metrics.fp:5d} {metrics.fn:5d}  {metrics.f1:.3f}",
        )
    log(
        args,
        f"overall F1 {result.f1:.3f} (best {result.best.metrics.f1:.3f} at "
        f"{result.best_threshold:.1f} %)"
        if result.best
        else f"overall F1 {result.f1:.3f}",
    )
    for name, f1 in PUBLISHED_F1.items():
        marker = "  <- same database" if name == variant else ""
        log(args, f"published RetinaNet single-stage, {name}: F1 {f1:.3f}{marker}")
    return {
        **result.to_dict(),
        "variant": variant,
        "published_f1": PUBLISHED_F1,
        "note": "synthetic slides and the offline BlobDetector" if args.synthetic else None,
    }


@attrs.frozen
class AwsClients:
    """Injected clients (None: wsi2rek creates them from your AWS configuration)."""

    s3: S3Client | None = None
    rekognition: RekognitionClient | None = None
    poll_interval: float = 30.0
    fake: FakeRekognitionServer | None = None


@contextlib.contextmanager
def fake_aws(bucket: str) -> Iterator[AwsClients]:
    """moto's S3 server and wsi2rek's FAKE Rekognition server, both on 127.0.0.1.

    Nothing is trained: the fake walks the model through its states in a fraction of a
    second and answers every detection request with no labels, so the F1 reported in
    this mode only shows that the code path works.
    """
    import boto3
    from moto.server import ThreadedMotoServer

    from wsi2rek.testing.fake_rekognition import FakeRekognitionServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request log lines
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    fake = FakeRekognitionServer(training_seconds=0.2).start()
    try:
        session = boto3.session.Session(
            aws_access_key_id="fake",
            aws_secret_access_key="fake",  # noqa: S106 (dummy key for the local fakes)
            region_name="us-east-1",
        )
        host, port = moto.get_host_and_port()
        s3 = session.client("s3", endpoint_url=f"http://{host}:{port}")
        s3.create_bucket(Bucket=bucket)
        rekognition = session.client("rekognition", endpoint_url=fake.endpoint_url)
        yield AwsClients(s3=s3, rekognition=rekognition, poll_interval=0.05, fake=fake)
    finally:
        fake.stop()
        moto.stop()


def fake_evaluation_summary(clients: AwsClients, model: CustomLabelsModel) -> None:
    """Put the evaluation summary file Rekognition would write where the fake points."""
    entry = model.describe()
    where = entry["EvaluationResult"]["Summary"]["S3Object"]
    summary = {
        "EvaluationDetails": {"ProjectVersionArn": model.arn, "Labels": [TARGET],
                              "NumberOfTrainingImages": 0, "NumberOfTestingImages": 0},
        "AggregatedEvaluationResults": {"Metrics": {"F1Score": 0.0}},
        "LabelEvaluationResults": [],
    }  # fmt: skip
    assert clients.s3 is not None
    clients.s3.put_object(Bucket=where["Bucket"], Key=where["Name"], Body=json.dumps(summary))


def aws_steps(
    args: argparse.Namespace,
    db: SlideRunnerDB,
    slides_dir: Path,
    test: Sequence[str],
    clients: AwsClients,
) -> dict[str, Any]:
    """Upload, train, evaluate and detect with Rekognition Custom Labels."""
    from datetime import timedelta

    from wsi2rek.aws import CustomLabelsProject, S3Uploader

    out: dict[str, Any] = {}
    uploader = S3Uploader(args.bucket, args.prefix, client=clients.s3, region_name=args.region)
    upload = uploader.upload(args.out / "dataset", dry_run=args.dry_run)
    out["upload"] = {
        "planned": len(upload.planned),
        "uploaded": len(upload.uploaded),
        "skipped": len(upload.skipped),
        "manifests": dict(upload.manifests),
        "dry_run": upload.dry_run,
    }
    log(args, f"upload: {len(upload.planned)} objects to s3://{args.bucket}/{args.prefix}")
    if not upload.ok:
        raise SystemExit(f"error: {len(upload.failed)} uploads failed: {upload.failed[:3]}")
    if not runs(args, "train"):
        return out
    output = f"s3://{args.bucket}/{args.prefix.strip('/')}/output"
    if args.dry_run:
        log(
            args,
            f"dry run: would train project {args.project!r} version {args.version!r} "
            f"into {output}, evaluate it, and detect on {len(test)} test slides",
        )
        out["dry_run"] = True
        return out
    project = CustomLabelsProject.get_or_create(
        args.project,
        client=clients.rekognition,
        s3_client=clients.s3,
        region_name=args.region,
        poll_interval=clients.poll_interval,
    )
    project.create_datasets(train=upload.manifests["train"], test=upload.manifests.get("test"))
    started = time.monotonic()
    model = project.train(args.version, output=output, timeout=timedelta(hours=args.training_hours))
    out["training"] = {"arn": model.arn, "seconds": round(time.monotonic() - started)}
    log(args, f"trained {model.arn}")
    if not runs(args, "evaluate"):
        return out
    if clients.fake is not None:
        fake_evaluation_summary(clients, model)
    evaluation = model.evaluation()
    out["evaluation"] = evaluation.to_dict()
    f1 = "n/a" if evaluation.f1 is None else f"{evaluation.f1:.3f}"
    log(args, f"Rekognition's own F1 on the test patches: {f1}")
    if not runs(args, "detect"):
        return out
    if clients.fake is not None:
        log(args, "the FAKE Rekognition server answers no labels: F1 0 here only shows the path")
    with model.running(min_inference_units=1):  # always stopped again, even on errors
        result, _found = detect_and_score(args, db, slides_dir, test, model, max_tps=args.tps)
    out["detection"] = report_f1(args, result)
    out["model_status_after"] = model.fetch_status()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.synthetic:
        db_path, slides_dir = make_synthetic_data(args.out / "data", seed=args.seed)
    else:
        db_path, slides_dir = args.db, args.slides
    summary: dict[str, Any] = {"db": str(db_path), "slides": str(slides_dir)}
    with SlideRunnerDB(db_path) as db:
        test = test_slides_in(db, require_all=not args.synthetic)
        summary["test_slides"] = test
        built = build(args, db, slides_dir, test)
        summary["build"] = {
            "images": built.images,
            "written": built.written,
            "splits": {k: dict(v) for k, v in built.splits.items()},
            "skipped": len(built.skipped),
            "seconds": round(built.seconds, 2),
        }
        if runs(args, "validate"):
            reports = validate(args)
            summary["validate"] = {k: v.to_dict() for k, v in reports.items()}
            if not all(r.ok for r in reports.values()):
                log(args, "the manifests have errors: fix them before uploading")
                return finish(args, summary, 1)
        if args.fake_aws and runs(args, "upload"):
            with fake_aws(args.bucket) as clients:
                summary.update(aws_steps(args, db, slides_dir, test, clients))
            summary["fake_aws"] = True
        elif args.bucket and runs(args, "upload"):
            summary.update(aws_steps(args, db, slides_dir, test, AwsClients()))
        elif runs(args, "detect") and args.synthetic:
            log(args, "no --bucket: detecting with the offline BlobDetector instead of a model")
            result, _ = detect_and_score(
                args, db, slides_dir, test, BlobDetector(label=TARGET), max_tps=None
            )
            summary["detection"] = report_f1(args, result)
        elif runs(args, "upload"):
            log(args, "no --bucket: AWS steps skipped")
    return finish(args, summary, 0)


def finish(args: argparse.Namespace, summary: Mapping[str, Any], code: int) -> int:
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True, default=str))
    return code


def cli() -> int:
    """``main`` with wsi2rek's errors as one line on stderr (exit code 2), as the CLI does."""
    try:
        return main()
    except Wsi2RekError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(cli())

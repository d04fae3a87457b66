"""``wsi2rek app --profile/--region/--endpoint-url``: the app calls the model as the AWS
commands do (issue 13: "AWS commands lack --profile and --region/--endpoint-url").

The proof that the profile is used: the only place the fake Rekognition server's address
is written is the profile's ``endpoint_url`` in a temporary ``AWS_CONFIG_FILE`` (botocore
reads ``endpoint_url`` from a profile, see the AWS SDKs and Tools reference guide,
"Service-specific endpoints"). Without the profile, the app would call real AWS (and
fail: no credentials, no network); with it, the fake answers and the detections show.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.app._server import serve_app
from tests.app.test_app_aws import label, trained_model
from wsi2rek.app import SCRIPT
from wsi2rek.app.logic import ENDPOINT_ENV, PROFILE_ENV, REGION_ENV, AppConfig
from wsi2rek.testing import make_image
from wsi2rek.testing.fake_rekognition import FakeRekognitionServer

CHROMIUM = Path("/usr/bin/chromium")
AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_REKOGNITION",
)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeRekognitionServer]:
    """The fake, reachable only through profile ``lab`` of a temporary AWS config file."""
    with FakeRekognitionServer(training_seconds=0.05, starting_seconds=0.05) as server:
        for name in (*AWS_VARIABLES, "WSI2REK_MODEL_ARN", PROFILE_ENV, REGION_ENV, ENDPOINT_ENV):
            monkeypatch.delenv(name, raising=False)
        config = tmp_path / "aws-config"
        config.write_text(
            "[profile lab]\n"
            "region = us-east-1\n"
            "aws_access_key_id = lab-key\n"
            "aws_secret_access_key = lab-secret\n"
            f"endpoint_url = {server.endpoint_url}\n"
        )
        monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        # botocore would otherwise wait for the real endpoint when the profile is ignored
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
        st.cache_data.clear()
        st.cache_resource.clear()
        yield server
        st.cache_data.clear()
        st.cache_resource.clear()


def test_the_settings_come_from_the_environment_the_cli_sets() -> None:
    config = AppConfig.from_env(
        {PROFILE_ENV: "lab", REGION_ENV: "eu-west-1", ENDPOINT_ENV: "http://127.0.0.1:9"}
    )
    assert (config.aws_profile, config.aws_region, config.endpoint_url) == (
        "lab",
        "eu-west-1",
        "http://127.0.0.1:9",
    )
    assert AppConfig.from_env({}).aws_profile is None


def run_model(at: AppTest, arn: str, tmp_path: Path) -> AppTest:
    at.run()
    at.sidebar.radio(key="detector").set_value("Custom Labels model").run()
    at.sidebar.text_input(key="arn").input(arn).run()
    image = make_image(tmp_path / "field.png", 400, 320, seed=5)
    at.file_uploader(key="upload").set_value(("field.png", image.read_bytes(), "image/png"))
    return at.run()


def test_the_app_calls_the_model_with_the_profile(
    fake: FakeRekognitionServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    arn = trained_model(fake, running=True)
    fake.set_detections([label(97.0, 0.1), label(72.0, 0.5)])
    monkeypatch.setenv(PROFILE_ENV, "lab")
    at = run_model(AppTest.from_file(SCRIPT, default_timeout=60), arn, tmp_path)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert int(at.metric[0].value) == 2
    assert fake.calls("DetectCustomLabels") == 1


def test_without_the_profile_the_fake_is_not_reached(
    fake: FakeRekognitionServer, tmp_path: Path
) -> None:
    arn = trained_model(fake, running=True)
    at = run_model(AppTest.from_file(SCRIPT, default_timeout=60), arn, tmp_path)
    assert at.error  # no credentials outside the profile: shown as an error
    assert fake.calls("DetectCustomLabels") == 0


def test_endpoint_url_and_region_reach_the_fake_without_a_profile(
    fake: FakeRekognitionServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    arn = trained_model(fake, running=True)
    fake.set_detections([label(97.0, 0.1)])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv(ENDPOINT_ENV, fake.endpoint_url)
    monkeypatch.setenv(REGION_ENV, "eu-west-1")
    at = run_model(AppTest.from_file(SCRIPT, default_timeout=60), arn, tmp_path)
    assert not at.error, [e.value for e in at.error]
    assert int(at.metric[0].value) == 1


def test_an_unknown_profile_is_one_line_before_starting(
    fake: FakeRekognitionServer, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "WSI2REK_DEBUG"}
    done = subprocess.run(
        [sys.executable, "-m", "wsi2rek", "app", "--profile", "nope"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("wsi2rek app: error: --profile nope: no such profile")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"{CHROMIUM} is not installed")
def test_wsi2rek_app_with_profile_in_chromium_reaches_the_fake(
    fake: FakeRekognitionServer, tmp_path: Path
) -> None:
    """The whole path a user takes: ``wsi2rek app --profile lab --model ARN``, a browser."""
    from playwright.sync_api import expect, sync_playwright

    from tests.app.test_app_browser import CHROMIUM_ARGS

    arn = trained_model(fake, running=True)
    fake.set_detections([label(97.0, 0.1), label(72.0, 0.5), label(31.0, 0.8)])
    image = make_image(tmp_path / "field.png", 400, 320, seed=5)
    with (
        serve_app(tmp_path, ["--profile", "lab", "--model", arn]) as url,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            choice = page.get_by_role("radiogroup", name="Detector").get_by_text(
                "Custom Labels model"
            )
            expect(choice).to_be_visible(timeout=30_000)
            choice.click()
            expect(page.get_by_text("AWS profile: lab")).to_be_visible(timeout=30_000)
            page.locator("input[type=file]").set_input_files(str(image))
            summary = page.get_by_text(re.compile(r"^\d+ detections? with confidence"))
            expect(summary).to_be_visible(timeout=30_000)
            expect(page.get_by_test_id("stMetricValue")).to_have_text("2")
        finally:
            browser.close()
    assert fake.calls("DetectCustomLabels") == 1

"""examples/deploy: the CDK app synthesises offline and its template is least-privilege.

The app is run as a user runs it (``CDK_OUTDIR=DIR python examples/deploy/app.py``, the
way the CDK CLI calls it, context in ``CDK_CONTEXT_JSON``), once per module because jsii
starts slowly; the template is then checked with ``aws_cdk.assertions`` (the CDK's own
template matchers). The policy shape follows the Custom Labels developer guide, "Securing
DetectCustomLabels": the action on the one model version ARN.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("aws_cdk", reason="needs the dev extra (aws-cdk-lib) and Node.js")

import aws_cdk as cdk
from aws_cdk.assertions import Match, Template

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "examples" / "deploy" / "app.py"
MODEL = (
    "arn:aws:rekognition:eu-west-1:123456789012:project/mitosis/version/"
    "mitosis.2024-01-01T00.00.00/1700000000000"
)
CIDR = "203.0.113.0/24"
QUIET_NODE = {
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
}

pytestmark = pytest.mark.timeout(600)


def synth(out: Path, context: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **QUIET_NODE, "CDK_OUTDIR": str(out)}
    env["CDK_CONTEXT_JSON"] = json.dumps(context)
    return subprocess.run(
        [sys.executable, str(APP)],
        cwd=out.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def synthesised(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Template]:
    out = tmp_path_factory.mktemp("deploy") / "cdk.out"
    context = {
        "modelArn": MODEL,
        "allowedCidr": CIDR,
        "slidesBucket": "my-slides",
        "slidesPrefix": "cmc/",
    }
    proc = synth(out, context)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((out / "Wsi2RekApp.template.json").read_text(encoding="utf-8"))
    return out, Template.from_json(data)


@pytest.fixture(scope="module")
def template(synthesised: tuple[Path, Template]) -> Template:
    return synthesised[1]


def statements(template: Template) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def actions_of(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_image_is_built_from_the_repository_with_the_app_dockerfile(
    synthesised: tuple[Path, Template],
) -> None:
    out, _ = synthesised
    assets = json.loads((out / "Wsi2RekApp.assets.json").read_text(encoding="utf-8"))
    (image,) = assets["dockerImages"].values()
    assert image["source"]["dockerFile"] == "examples/streamlit_app/Dockerfile"
    staged = out / image["source"]["directory"]
    assert (staged / "pyproject.toml").is_file()
    assert (staged / "src" / "wsi2rek" / "app" / "streamlit_app.py").is_file()
    assert not (staged / ".venv").exists()
    assert not (staged / "tests").exists()


def test_fargate_service_behind_an_internet_facing_alb(template: Template) -> None:
    template.resource_count_is("AWS::ECS::Service", 1)
    template.has_resource_properties(
        "AWS::ECS::Service", {"LaunchType": "FARGATE", "DesiredCount": 1}
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {"Scheme": "internet-facing", "Type": "application"},
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener", {"Port": 80, "Protocol": "HTTP"}
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup", {"HealthCheckPath": "/_stcore/health"}
    )
    # ECS registers the container's port (Streamlit's 8501) with the target group
    template.has_resource_properties(
        "AWS::ECS::Service",
        {"LoadBalancers": [Match.object_like({"ContainerPort": 8501})]},
    )
    template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "ContainerDefinitions": [
                Match.object_like(
                    {
                        "PortMappings": [Match.object_like({"ContainerPort": 8501})],
                        "Environment": Match.array_with(
                            [{"Name": "WSI2REK_MODEL_ARN", "Value": MODEL}]
                        ),
                    }
                )
            ]
        },
    )


def test_alb_admits_only_the_allowed_cidr(template: Template) -> None:
    groups = template.find_resources("AWS::EC2::SecurityGroup")
    ingress = [
        rule for g in groups.values() for rule in g["Properties"].get("SecurityGroupIngress", [])
    ]
    ingress += [
        r["Properties"] for r in template.find_resources("AWS::EC2::SecurityGroupIngress").values()
    ]
    cidrs = {rule.get("CidrIp") for rule in ingress if "CidrIp" in rule}
    assert cidrs == {CIDR}
    assert all(rule.get("CidrIpv6") is None for rule in ingress)
    (lb_rule,) = [rule for rule in ingress if rule.get("CidrIp") == CIDR]
    assert (lb_rule["FromPort"], lb_rule["ToPort"], lb_rule["IpProtocol"]) == (80, 80, "tcp")


def test_task_role_may_detect_only_with_the_one_model(template: Template) -> None:
    rekognition = [
        s for s in statements(template) if any(a.startswith("rekognition:") for a in actions_of(s))
    ]
    assert rekognition == [
        {
            "Action": "rekognition:DetectCustomLabels",
            "Effect": "Allow",
            "Resource": MODEL,
            "Sid": "DetectWithTheOneModel",
        }
    ]
    for statement in statements(template):
        for action in actions_of(statement):
            assert action != "*"
            assert not (action.startswith("rekognition:") and "*" in action), action
    assert not template.find_resources(
        "AWS::IAM::Role", {"Properties": {"ManagedPolicyArns": Match.any_value()}}
    )


def test_slides_bucket_is_read_only_under_its_prefix(template: Template) -> None:
    s3 = [s for s in statements(template) if any(a.startswith("s3:") for a in actions_of(s))]
    assert sorted(a for s in s3 for a in actions_of(s)) == ["s3:GetObject", "s3:ListBucket"]
    (get,) = [s for s in s3 if s["Action"] == "s3:GetObject"]
    assert "my-slides/cmc/*" in json.dumps(get["Resource"])
    (listing,) = [s for s in s3 if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["cmc/*"]}}


def test_logs_have_a_retention_and_no_secret_is_in_the_template(
    synthesised: tuple[Path, Template],
) -> None:
    out, template = synthesised
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})
    template.resource_count_is("AWS::SecretsManager::Secret", 0)
    text = (out / "Wsi2RekApp.template.json").read_text(encoding="utf-8")
    for needle in ("Secrets", "AWS_SECRET_ACCESS_KEY", "aws_secret_access_key", "OAuthToken"):
        assert needle not in text


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wsi2rek_deploy_app", APP)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"allowedCidr": CIDR}, "-c modelArn="),
        ({"modelArn": "arn:aws:s3:::bucket", "allowedCidr": CIDR}, "not a Rekognition"),
        ({"modelArn": MODEL}, "-c allowedCidr="),
        ({"modelArn": MODEL, "allowedCidr": "203.0.113.7/16"}, "not an IPv4 network"),
        ({"modelArn": MODEL, "allowedCidr": CIDR, "logRetentionDays": 31}, "logRetentionDays"),
        ({"modelArn": MODEL, "allowedCidr": CIDR, "slidesPrefix": "x/"}, "slidesBucket"),
    ],
)
def test_bad_settings_fail_in_one_line_before_synthesis(
    synthesised: tuple[Path, Template],  # jsii already running: the import is cheap
    context: dict[str, Any],
    message: str,
    *,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    module = load_example()
    app = cdk.App(context=context, outdir=str(tmp_path / "out"))
    assert module.main(app) == 2
    err = capsys.readouterr().err
    assert err.startswith("examples/deploy: ")
    assert message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "out" / "Wsi2RekApp.template.json").exists()


def test_container_start_copies_the_slides_under_the_prefix(
    synthesised: tuple[Path, Template], tmp_path: Path
) -> None:
    """The start-up snippet the task runs, against moto's S3 server over HTTP.

    It is taken from the synthesised template (the container's environment), run with the
    same ``python -c`` the container's command uses.
    """
    import boto3
    from moto.server import ThreadedMotoServer

    _, template = synthesised
    (task,) = template.find_resources("AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    env = {item["Name"]: item["Value"] for item in container["Environment"]}
    assert container["Command"][-1].startswith('python -c "$WSI2REK_SYNC_SLIDES" && exec')
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        creds = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
        }
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3.create_bucket(Bucket="my-slides")
        for key in ("cmc/a.svs", "cmc/sub/b.svs", "other/c.svs"):
            s3.put_object(Bucket="my-slides", Key=key, Body=key.encode())
        dest = tmp_path / "slides"
        run_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            **creds,
            "WSI2REK_SLIDES_BUCKET": env["WSI2REK_SLIDES_BUCKET"],
            "WSI2REK_SLIDES_PREFIX": env["WSI2REK_SLIDES_PREFIX"],
            "WSI2REK_SLIDES_DIR": str(dest),
        }
        proc = subprocess.run(
            [sys.executable, "-c", env["WSI2REK_SYNC_SLIDES"]],
            env=run_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stderr
    copied = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert copied == ["a.svs", "sub/b.svs"]
    assert (dest / "sub" / "b.svs").read_bytes() == b"cmc/sub/b.svs"
    assert env["WSI2REK_SLIDES_DIR"] == "/home/app/slides"

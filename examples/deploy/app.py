"""Deploy the wsi2rek app (`wsi2rek app`) on AWS Fargate behind a load balancer.

Like the AWS blog's CDK stack, safer: the image is built from this repository (no
CodePipeline, no GitHub token, no secret anywhere in the template), the task role may call
only ``rekognition:DetectCustomLabels`` on the one model version given, and read only the
slides bucket (and prefix) if one is given; the load balancer admits only the CIDR given;
logs are kept for a bounded time.

Settings come as CDK context (``cdk deploy -c key=value`` or ``cdk.json``):

* ``modelArn`` (required): the Custom Labels model version ARN the app may call.
* ``allowedCidr`` (required): who may reach the load balancer, e.g. ``203.0.113.7/32``.
  ``0.0.0.0/0`` opens it to the internet and must be given explicitly.
* ``slidesBucket`` / ``slidesPrefix``: slides the app offers in slide mode, copied from S3 to
  the task's ephemeral storage when it starts (read-only access to that bucket and prefix).
* ``certificateArn``: an ACM certificate to serve HTTPS (HTTP then redirects to it).
* ``logRetentionDays`` (default 30), ``stackName`` (default ``Wsi2RekApp``).

Synthesise offline (no AWS account needed)::

    CDK_OUTDIR=cdk.out CDK_CONTEXT_JSON='{"modelArn": "...", "allowedCidr": "..."}' \\
        python examples/deploy/app.py

See README.md next to this file for deploying, stopping the model and tearing down.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import Any

import attrs
import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from wsi2rek.app.logic import ARN_ENV, SLIDES_DIR_ENV, validate_model_arn
from wsi2rek.aws import region_from_arn
from wsi2rek.errors import ParameterError, Wsi2RekError

REPO = Path(__file__).resolve().parents[2]
#: The app's image, built from the repository root (the context needs src/ and pyproject).
DOCKERFILE = "examples/streamlit_app/Dockerfile"
APP_PORT = 8501
SLIDES_DIR = "/home/app/slides"

#: Run at container start when a slides bucket is given: copy the slides under the prefix to
#: the task's ephemeral storage (boto3 is a wsi2rek dependency), then serve the app.
SYNC_SLIDES = """\
import os, pathlib, boto3
bucket, prefix = os.environ["WSI2REK_SLIDES_BUCKET"], os.environ.get("WSI2REK_SLIDES_PREFIX", "")
dest = pathlib.Path(os.environ["WSI2REK_SLIDES_DIR"])
dest.mkdir(parents=True, exist_ok=True)
s3 = boto3.client("s3")
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
    for item in page.get("Contents", []):
        name = item["Key"][len(prefix):].lstrip("/")
        if name and not name.endswith("/"):
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, item["Key"], str(target))
            print(f"copied s3://{bucket}/{item['Key']}", flush=True)
"""
SERVE = f"exec wsi2rek app --address 0.0.0.0 --port {APP_PORT}"


@attrs.frozen
class DeploySettings:
    """The stack's settings, checked before anything is synthesised.

    Attributes:
        model_arn: The one model version the app may call.
        allowed_cidr: The network allowed to reach the load balancer.
        slides_bucket: Bucket of slides for slide mode, or None.
        slides_prefix: Key prefix of the slides in that bucket.
        certificate_arn: ACM certificate for HTTPS, or None (HTTP only).
        log_retention_days: How long the app's logs are kept.
        stack_name: CloudFormation stack name.
    """

    model_arn: str
    allowed_cidr: str
    slides_bucket: str | None = None
    slides_prefix: str = ""
    certificate_arn: str | None = None
    log_retention_days: int = 30
    stack_name: str = "Wsi2RekApp"

    @classmethod
    def from_context(cls, get: Any) -> DeploySettings:
        """Read and check the settings from CDK context (``get`` is ``node.try_get_context``).

        Raises:
            Wsi2RekError: A setting is missing or malformed (the message names the
                ``-c key=value`` to pass).
        """
        raw_arn = str(get("modelArn") or "")
        if not raw_arn.strip():
            raise ParameterError(
                "no modelArn given: pass -c modelArn=arn:aws:rekognition:REGION:ACCOUNT:"
                "project/PROJECT/version/VERSION/TIMESTAMP (the one model the app may call)"
            )
        model_arn = validate_model_arn(raw_arn)
        raw_cidr = get("allowedCidr")
        if not raw_cidr:
            raise ParameterError(
                "no allowedCidr given: pass -c allowedCidr=203.0.113.7/32 (the addresses allowed "
                "to reach the app; 0.0.0.0/0 opens it to the internet and must be explicit)"
            )
        try:
            cidr = str(ipaddress.IPv4Network(str(raw_cidr), strict=True))
        except ValueError as exc:
            raise ParameterError(
                f"allowedCidr {raw_cidr!r} is not an IPv4 network ({exc}); "
                "pass e.g. -c allowedCidr=203.0.113.0/24"
            ) from exc
        retention = get("logRetentionDays") or 30
        days = int(retention)
        if days not in _RETENTION:
            raise ParameterError(
                f"logRetentionDays {retention!r} is not one CloudWatch Logs offers; use one "
                f"of {', '.join(str(d) for d in sorted(_RETENTION))}"
            )
        bucket = get("slidesBucket") or None
        prefix = str(get("slidesPrefix") or "")
        if prefix and not bucket:
            raise ParameterError("slidesPrefix given without slidesBucket: pass -c slidesBucket=")
        return cls(
            model_arn=model_arn,
            allowed_cidr=cidr,
            slides_bucket=None if bucket is None else str(bucket),
            slides_prefix=prefix,
            certificate_arn=get("certificateArn") or None,
            log_retention_days=days,
            stack_name=str(get("stackName") or "Wsi2RekApp"),
        )


_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


class Wsi2RekAppStack(cdk.Stack):
    """The app on Fargate behind an Application Load Balancer, with least privilege."""

    def __init__(
        self, scope: Construct, construct_id: str, settings: DeploySettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        s = settings
        # Public subnets only: no NAT gateway to pay for. Tasks get a public address to pull
        # their image, but their security group admits only the load balancer.
        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)
            ],
        )
        cluster = ecs.Cluster(self, "Cluster", vpc=vpc)

        role = iam.Role(
            self,
            "TaskRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="wsi2rek app: DetectCustomLabels on one model, slides read-only",
        )
        # The Custom Labels developer guide ("Securing DetectCustomLabels") restricts the
        # action to one model version by its ARN: that is all the app calls.
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DetectWithTheOneModel",
                actions=["rekognition:DetectCustomLabels"],
                resources=[s.model_arn],
            )
        )
        environment = {ARN_ENV: s.model_arn}
        command = ["sh", "-c", SERVE]
        if s.slides_bucket is not None:
            bucket_arn = f"arn:{cdk.Aws.PARTITION}:s3:::{s.slides_bucket}"
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="ReadTheSlides",
                    actions=["s3:GetObject"],
                    resources=[f"{bucket_arn}/{s.slides_prefix}*"],
                )
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="ListTheSlides",
                    actions=["s3:ListBucket"],
                    resources=[bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{s.slides_prefix}*"]}},
                )
            )
            environment |= {
                "WSI2REK_SLIDES_BUCKET": s.slides_bucket,
                "WSI2REK_SLIDES_PREFIX": s.slides_prefix,
                SLIDES_DIR_ENV: SLIDES_DIR,
            }
            command = ["sh", "-c", f'python -c "$WSI2REK_SYNC_SLIDES" && {SERVE}']
            environment["WSI2REK_SYNC_SLIDES"] = SYNC_SLIDES

        log_group = logs.LogGroup(
            self,
            "Logs",
            retention=_RETENTION[s.log_retention_days],
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        task = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=1024,
            memory_limit_mib=4096,
            task_role=role,
            ephemeral_storage_gib=50 if s.slides_bucket else None,
        )
        image = ecr_assets.DockerImageAsset(
            self,
            "Image",
            directory=str(REPO),
            file=DOCKERFILE,
            platform=ecr_assets.Platform.LINUX_AMD64,
            exclude=["cdk.out", "**/cdk.out", ".git", ".venv*", "demo-out"],
        )
        task.add_container(
            "app",
            image=ecs.ContainerImage.from_docker_image_asset(image),
            command=command,
            environment=environment,
            port_mappings=[ecs.PortMapping(container_port=APP_PORT)],
            logging=ecs.LogDrivers.aws_logs(stream_prefix="wsi2rek-app", log_group=log_group),
        )

        https = s.certificate_arn is not None
        service = ecs_patterns.ApplicationLoadBalancedFargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=task,
            desired_count=1,
            public_load_balancer=True,
            assign_public_ip=True,
            task_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            # The listener is NOT opened to 0.0.0.0/0; the allowed CIDR is added below.
            open_listener=False,
            protocol=(elbv2.ApplicationProtocol.HTTPS if https else elbv2.ApplicationProtocol.HTTP),
            certificate=(
                acm.Certificate.from_certificate_arn(self, "Cert", s.certificate_arn)
                if s.certificate_arn
                else None
            ),
            redirect_http=https,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )
        for port in (443, 80) if https else (80,):
            service.load_balancer.connections.allow_from(
                ec2.Peer.ipv4(s.allowed_cidr), ec2.Port.tcp(port), f"wsi2rek app from {port}"
            )
        service.target_group.configure_health_check(path="/_stcore/health")
        # Streamlit keeps a websocket per browser session: keep a browser on one task.
        service.target_group.enable_cookie_stickiness(cdk.Duration.hours(8))

        cdk.CfnOutput(self, "ModelArn", value=s.model_arn)
        cdk.CfnOutput(
            self,
            "StopTheModel",
            value=f"wsi2rek model stop {s.model_arn}",
            description="A running model is billed per hour: stop it when you are done",
        )


def build(app: cdk.App) -> Wsi2RekAppStack:
    """Add the stack to ``app`` from its context (see the module docstring)."""
    settings = DeploySettings.from_context(app.node.try_get_context)
    # In the model's region: DetectCustomLabels is called there, and the task's own region
    # is the one the AWS SDK picks up on Fargate.
    env = cdk.Environment(region=region_from_arn(settings.model_arn))
    return Wsi2RekAppStack(app, settings.stack_name, settings, env=env)


def main(app: cdk.App | None = None) -> int:
    """Synthesise the stack into ``CDK_OUTDIR`` (what ``cdk synth``/``cdk deploy`` run).

    Args:
        app: The CDK app (default: one reading ``CDK_CONTEXT_JSON`` and ``CDK_OUTDIR``).

    Returns:
        0, or 2 after printing one line on stderr when a setting is missing or malformed.
    """
    app = cdk.App() if app is None else app
    try:
        build(app)
    except Wsi2RekError as exc:
        print(f"examples/deploy: {exc}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())

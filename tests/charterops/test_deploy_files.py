"""deploy/: the systemd units, the nginx site and the IAM documents parse and say what they must."""

from __future__ import annotations

import configparser
import json
import re
from pathlib import Path

import pytest

from charterops.integrations.s3 import UNCONFIRMED_TAGGING

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
IAM = sorted((DEPLOY / "aws").glob("iam-*.json"))


def _statements(path: Path) -> list[dict]:
    document = json.loads(path.read_text())
    assert document["Version"] == "2012-10-17"
    return document["Statement"]


def _actions(path: Path) -> set[str]:
    return {a for s in _statements(path) for a in s["Action"]}


def test_there_is_one_policy_per_service_the_readme_names():
    names = {p.stem.removeprefix("iam-") for p in IAM}
    assert names == {"s3", "cloudfront", "ses", "sns", "secretsmanager", "dynamodb"}


@pytest.mark.parametrize("path", IAM, ids=lambda p: p.name)
def test_each_policy_is_least_privilege(path):
    for statement in _statements(path):
        assert statement["Effect"] == "Allow"
        assert statement["Action"], statement
        for action in statement["Action"]:
            service, _, verb = action.partition(":")
            assert service == path.stem.removeprefix("iam-"), action
            assert "*" not in verb, f"{action}: name each action"
        resources = statement.get("Resource")
        if resources is None:
            # SMS to a phone number has no ARN: allowed only as "anything but a topic".
            assert statement["NotResource"] == "arn:aws:sns:*:*:*"
            assert statement["Action"] == ["sns:Publish"]
            continue
        for resource in [resources] if isinstance(resources, str) else resources:
            assert resource != "*" and resource.startswith(f"arn:aws:{service}:"), resource


def test_the_policies_cover_every_call_the_code_makes():
    assert _actions(DEPLOY / "aws" / "iam-s3.json") >= {
        "s3:PutObject",
        "s3:GetObject",
        "s3:DeleteObject",
        "s3:PutObjectTagging",
        "s3:ListBucket",
    }
    assert _actions(DEPLOY / "aws" / "iam-cloudfront.json") == {"cloudfront:CreateInvalidation"}
    assert _actions(DEPLOY / "aws" / "iam-secretsmanager.json") == {"secretsmanager:GetSecretValue"}
    assert _actions(DEPLOY / "aws" / "iam-dynamodb.json") == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
    }
    photos = next(
        s for s in _statements(DEPLOY / "aws" / "iam-s3.json") if s["Sid"].startswith("Photos")
    )
    assert photos["Resource"].endswith("/photos/*")


def test_the_lifecycle_rule_expires_photos_tagged_unconfirmed_by_the_upload_policy():
    rule = json.loads((DEPLOY / "aws" / "s3-lifecycle.json").read_text())["Rules"][0]
    condition = rule["Filter"]["And"]
    assert condition["Prefix"] == "photos/"
    (tag,) = condition["Tags"]
    assert f"<Key>{tag['Key']}</Key><Value>{tag['Value']}</Value>" in UNCONFIRMED_TAGGING
    assert rule["Status"] == "Enabled" and rule["Expiration"]["Days"] >= 1


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string((DEPLOY / "systemd" / name).read_text().replace("\\\n", " "))
    return parser


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("charterops-web.service", "gunicorn charterops.wsgi"),
        ("charterops-worker.service", "celery -A charterops worker"),
        ("charterops-beat.service", "celery -A charterops beat"),
    ],
)
def test_each_systemd_unit_runs_its_process_unprivileged_with_the_shared_environment(name, command):
    unit = _unit(name)
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    assert command in re.sub(r"\s+", " ", service["ExecStart"])
    assert service["ExecStart"].startswith("/srv/charterops/.venv/bin/")
    assert service["User"] == "charterops" != "root"
    assert service["EnvironmentFile"] == "/etc/charterops/charterops.env"
    assert service["Restart"] in {"always", "on-failure"}
    assert service["NoNewPrivileges"] == "true"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_environment_example_names_every_setting_production_requires():
    example = (DEPLOY / "systemd" / "charterops.env.example").read_text()
    names = {line.split("=", 1)[0] for line in example.splitlines() if re.match(r"^[A-Z_]+=", line)}
    assert names >= {
        "SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "CHARTEROPS_SITE_URL",
        "DATABASE_URL",
        "CACHE_URL",
        "CELERY_BROKER_URL",
        "EMAIL_BACKEND",
        "ANYMAIL_WEBHOOK_SECRET",
        "DJANGO_BEHIND_PROXY",
    }


def _nginx_blocks(text: str) -> list[str]:
    """The body of each top-level ``server { ... }`` block (braces must balance)."""
    text = re.sub(r"#.*", "", text)
    assert text.count("{") == text.count("}")
    blocks, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0 and text[:start].rstrip().endswith("server"):
                blocks.append(text[start + 1 : i])
    return blocks


def test_the_nginx_site_terminates_tls_sets_proxy_headers_and_serves_static():
    from django.conf import settings

    http, https = _nginx_blocks((DEPLOY / "nginx" / "charterops.conf").read_text())
    assert "return 301 https://$host$request_uri;" in http
    assert re.search(r"listen 443 ssl;", https)
    assert "ssl_certificate " in https and "ssl_certificate_key " in https
    assert "TLSv1.2 TLSv1.3" in https
    # SECURE_PROXY_SSL_HEADER is safe only because nginx sets (not forwards) the header.
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in https
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in https
    assert "proxy_set_header Host $host;" in https
    body = int(re.search(r"client_max_body_size (\d+)m;", https).group(1))
    assert body >= 25  # one photo through the no-JavaScript form
    assert f"location /{settings.STATIC_URL.strip('/')}/" in https
    assert re.search(r"alias /var/lib/charterops/static/;", https)
    assert "proxy_pass http://charterops;" in https

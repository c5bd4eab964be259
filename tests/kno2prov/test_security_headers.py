import re

import pytest


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_without_inline_scripts(client):
    policy = client.get("/admin/login/")["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", policy).group(1)
    assert "'self'" in script_src
    assert "'unsafe-inline'" not in script_src
    assert "frame-ancestors 'none'" in policy


@pytest.mark.django_db
def test_an_inline_script_runs_only_with_the_responses_nonce(admin_client, organization):
    from django.urls import reverse

    page = admin_client.get(
        reverse("admin:organizations_organization_issue_token", args=[organization.pk])
    )
    nonce = re.search(r"'nonce-([^']+)'", page["Content-Security-Policy"]).group(1)
    scripts = re.findall(rb"<script([^>]*)>", page.content)
    inline = [attrs for attrs in scripts if b"src=" not in attrs]
    assert inline, "the page has its inline submit-once script"
    assert all(f'nonce="{nonce}"'.encode() in attrs for attrs in inline)


def test_pages_cannot_be_framed(client, django_db_blocker):
    with django_db_blocker.block():
        response = client.get("/healthz")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"

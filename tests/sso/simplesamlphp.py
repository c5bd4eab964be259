"""SimpleSAMLphp, a SAML 2.0 identity provider no one here wrote, served by ``php -S`` on 127.0.0.1.

Debian's ``simplesamlphp`` package (1.19: code in /usr/share/simplesamlphp, web root ``www/``) runs
from a private configuration folder (``SIMPLESAMLPHP_CONFIG_DIR``), never /etc. It learns about
our service provider the way a customer's IdP does: its ``xml`` metadata source points at our SP
metadata URL, and SimpleSAMLphp's own importer reads it on every request (``WantAssertionsSigned``
becomes its ``saml20.sign.assertion``). Users sign in with ``exampleauth:UserPass``; the NameID is
their e-mail address.

``configure`` rewrites the configuration between tests (opcache is off, so the next request
reads it): which organization's metadata to import, and how the IdP signs.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .idp import SigningKey, make_signing_key

SIMPLESAMLPHP_ROOT = Path("/usr/share/simplesamlphp")
INSTALL_HINT = (
    "run scripts/test.sh, which installs Debian's simplesamlphp php-cli php-xml php-mbstring"
)
SIG_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SIG_RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"


def missing_requirements() -> str:
    """Why SimpleSAMLphp cannot run here ('' when it can): the fixture fails with this."""
    php = shutil.which("php")
    if php is None:
        return f"php (Debian's php-cli) is not installed: {INSTALL_HINT}."
    if not (SIMPLESAMLPHP_ROOT / "www" / "saml2" / "idp" / "SSOService.php").is_file():
        return f"Debian's simplesamlphp is not installed in {SIMPLESAMLPHP_ROOT}: {INSTALL_HINT}."
    modules = subprocess.run(
        [php, "-m"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.split()
    absent = [name for name in ("dom", "SimpleXML", "mbstring") if name not in modules]
    if absent:
        return f"PHP lacks the extensions {', '.join(absent)} SimpleSAMLphp needs: {INSTALL_HINT}."
    return ""


def _php(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class SimpleSamlPhp:
    folder: Path
    port: int = 0
    key: SigningKey | None = None
    users: dict[str, str] = field(default_factory=dict)  # e-mail -> password
    _process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def entity_id(self) -> str:
        return f"{self.base_url}/saml2/idp/metadata.php"

    @property
    def metadata_url(self) -> str:
        return self.entity_id

    @property
    def log(self) -> str:
        logs = [self.folder / "php.log", self.folder / "log" / "simplesamlphp.log"]
        return "\n".join(path.read_text(errors="replace") for path in logs if path.exists())

    def start(self) -> SimpleSamlPhp:
        for name in ("config", "metadata", "cert", "log", "data", "tmp", "sessions"):
            (self.folder / name).mkdir(parents=True, exist_ok=True)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.key = make_signing_key(self.folder / "cert", "idp")
        self.configure(sp_metadata_url="", users={})
        env = {**os.environ, "SIMPLESAMLPHP_CONFIG_DIR": str(self.folder / "config")}
        with (self.folder / "php.log").open("w") as log:
            self._process = subprocess.Popen(
                [
                    "php",
                    "-d",
                    "opcache.enable=0",
                    "-d",
                    f"session.save_path={self.folder / 'sessions'}",
                    "-S",
                    f"127.0.0.1:{self.port}",
                    "-t",
                    str(SIMPLESAMLPHP_ROOT / "www"),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"php -S exited early:\n{self.log}")
            try:
                with urllib.request.urlopen(self.metadata_url, timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"SimpleSAMLphp did not answer on {self.metadata_url}:\n{self.log}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()

    def configure(
        self,
        *,
        sp_metadata_url: str,
        users: dict[str, str],
        sign_response: bool = True,
        signature_algorithm: str = SIG_RSA_SHA256,
    ) -> None:
        """Import the SP from ``sp_metadata_url``; sign as asked (the assertion is signed when
        the imported SP metadata says ``WantAssertionsSigned="true"``)."""
        assert self.key is not None
        folder = self.folder
        sources = "['type' => 'flatfile']"
        if sp_metadata_url:
            sources += f", ['type' => 'xml', 'url' => {_php(sp_metadata_url)}]"
        (folder / "config" / "config.php").write_text(
            "<?php\n$config = [\n"
            f"    'baseurlpath' => {_php(self.base_url + '/')},\n"
            f"    'certdir' => {_php(str(folder / 'cert') + '/')},\n"
            f"    'loggingdir' => {_php(str(folder / 'log') + '/')},\n"
            f"    'datadir' => {_php(str(folder / 'data') + '/')},\n"
            f"    'tempdir' => {_php(str(folder / 'tmp'))},\n"
            f"    'metadatadir' => {_php(str(folder / 'metadata') + '/')},\n"
            "    'secretsalt' => 'test-only-salt',\n"
            "    'auth.adminpassword' => 'test-only-admin',\n"
            "    'technicalcontact_email' => 'na@example.invalid',\n"
            "    'enable.saml20-idp' => true,\n"
            "    'module.enable' => ['exampleauth' => true, 'core' => true, 'saml' => true],\n"
            "    'logging.handler' => 'file',\n"
            "    'logging.level' => SimpleSAML\\Logger::INFO,\n"
            # Plain http on loopback: no Secure cookies, and Lax (None needs Secure).
            "    'session.cookie.secure' => false,\n"
            "    'session.cookie.samesite' => 'Lax',\n"
            "    'store.type' => 'phpsession',\n"
            f"    'metadata.sources' => [{sources}],\n"
            "];\n"
        )
        accounts = "".join(
            f"        {_php(f'{email}:{password}')} => "
            f"['uid' => [{_php(email.split('@')[0])}], 'email' => [{_php(email)}]],\n"
            for email, password in users.items()
        )
        (folder / "config" / "authsources.php").write_text(
            "<?php\n$config = [\n"
            "    'admin' => ['core:AdminPassword'],\n"
            f"    'example-userpass' => ['exampleauth:UserPass',\n{accounts}    ],\n"
            "];\n"
        )
        (folder / "metadata" / "saml20-idp-hosted.php").write_text(
            "<?php\n"
            f"$metadata[{_php(self.entity_id)}] = [\n"
            "    'host' => '__DEFAULT__',\n"
            f"    'privatekey' => {_php(self.key.key_path.name)},\n"
            f"    'certificate' => {_php(self.key.cert_path.name)},\n"
            "    'auth' => 'example-userpass',\n"
            f"    'signature.algorithm' => {_php(signature_algorithm)},\n"
            "    'NameIDFormat' => 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',\n"
            "    'simplesaml.nameidattribute' => 'email',\n"
            f"    'saml20.sign.response' => {_php(sign_response)},\n"
            "];\n"
        )

"""TAK client certificates: the project's own certificate authority, and data packages ATAK and WinTAK import.

The authority lives beside the store (``<store>.tak/``: ``ca.pem``,
``ca.key``, the server's ``server.pem`` and ``server.key``). A client
certificate names its member (CN), its party (O) and the credential it stands
for (UID): the credential is issued with it and recorded in the log, so
revoking the credential (``deconflict credential revoke``) cuts the TLS feed
off, mid-stream included. The data package is a zip with the client's
PKCS#12, the trust store (the authority, PKCS#12), a ``.pref`` with the
connection, and ``MANIFEST/manifest.xml``: what ATAK's and WinTAK's import
expects.
"""

from __future__ import annotations

import datetime as dt
import io
import ipaddress
import secrets
import ssl
import uuid
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from deconflict.errors import InvalidInput

CERT_DAYS = 365


def _name(cn: str, org: str = "", uid: str = "") -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    if uid:
        attrs.append(x509.NameAttribute(NameOID.USER_ID, uid))
    return x509.Name(attrs)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class Authority:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
        ca_pem, ca_key = folder / "ca.pem", folder / "ca.key"
        if not ca_pem.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            now = dt.datetime.now(dt.UTC)
            name = _name("Deconflict TAK CA", "deconflict")
            cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                    .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
                    .not_valid_after(now + dt.timedelta(days=10 * 365))
                    .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                    .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                   critical=True)
                    .sign(key, hashes.SHA256()))
            ca_key.write_bytes(_pem_key(key))
            ca_key.chmod(0o600)
            ca_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.cert = x509.load_pem_x509_certificate(ca_pem.read_bytes())
        loaded = serialization.load_pem_private_key(ca_key.read_bytes(), None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        self.key = loaded

    @classmethod
    def beside(cls, store: Path) -> Authority:
        return cls(store.with_name(store.name + ".tak"))

    def _issue(self, subject: x509.Name, public: ec.EllipticCurvePublicKey, *, server_host: str = "",
               days: int = CERT_DAYS) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC)
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(self.cert.subject).public_key(public)
             .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
             .not_valid_after(now + dt.timedelta(days=days))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
        if server_host:
            try:
                san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(server_host))
            except ValueError:
                san = x509.DNSName(server_host)
            b = b.add_extension(x509.SubjectAlternativeName([san]), critical=False).add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        else:
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        return b.sign(self.key, hashes.SHA256())

    def server_files(self, host: str) -> tuple[Path, Path]:
        """The server's certificate and key for ``host`` (made once)."""
        pem, key_path = self.folder / "server.pem", self.folder / "server.key"
        if not pem.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            cert = self._issue(_name(host, "deconflict"), key.public_key(), server_host=host)
            key_path.write_bytes(_pem_key(key))
            key_path.chmod(0o600)
            pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return pem, key_path

    def server_context(self, host: str) -> ssl.SSLContext:
        """TLS for the CoT port: a client certificate from this authority is required."""
        pem, key = self.server_files(host)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(pem, key)
        ctx.load_verify_locations(cadata=self.cert.public_bytes(serialization.Encoding.PEM).decode())
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def client(self, party: str, member: str, credential: str) -> tuple[bytes, bytes]:
        """(certificate PEM, key PEM) of a member's TAK client."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self._issue(_name(member, party, credential), key.public_key())
        return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)

    def ca_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def data_package(self, party: str, member: str, credential: str, host: str, port: int) -> tuple[bytes, str]:
        """A TAK data package (zip) and the password of its PKCS#12 files (shown once)."""
        password = secrets.token_urlsafe(12)
        cert_pem, key_pem = self.client(party, member, credential)
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        enc = serialization.BestAvailableEncryption(password.encode())
        client_p12 = pkcs12.serialize_key_and_certificates(member.encode(), key, cert, [self.cert], enc)
        trust_p12 = pkcs12.serialize_key_and_certificates(b"deconflict-ca", None, None, [self.cert], enc)
        pref = f"""<?xml version='1.0' encoding='ASCII' standalone='yes'?>
<preferences>
  <preference version="1" name="cot_streams">
    <entry key="count" class="class java.lang.Integer">1</entry>
    <entry key="description0" class="class java.lang.String">{escape(f"Deconflict ({party})")}</entry>
    <entry key="enabled0" class="class java.lang.Boolean">true</entry>
    <entry key="connectString0" class="class java.lang.String">{escape(f"{host}:{port}:ssl")}</entry>
  </preference>
  <preference version="1" name="com.atakmap.app_preferences">
    <entry key="displayServerConnectionWidget" class="class java.lang.Boolean">true</entry>
    <entry key="caLocation" class="class java.lang.String">cert/truststore.p12</entry>
    <entry key="caPassword" class="class java.lang.String">{escape(password)}</entry>
    <entry key="clientPassword" class="class java.lang.String">{escape(password)}</entry>
    <entry key="certificateLocation" class="class java.lang.String">cert/{escape(member)}.p12</entry>
  </preference>
</preferences>
"""
        manifest = f"""<MissionPackageManifest version="2">
  <Configuration>
    <Parameter name="uid" value={quoteattr(str(uuid.uuid4()))}/>
    <Parameter name="name" value={quoteattr(f"deconflict-{party}-{member}")}/>
    <Parameter name="onReceiveDelete" value="true"/>
  </Configuration>
  <Contents>
    <Content ignore="false" zipEntry="cert/server.pref"/>
    <Content ignore="false" zipEntry="cert/truststore.p12"/>
    <Content ignore="false" zipEntry={quoteattr(f"cert/{member}.p12")}/>
  </Contents>
</MissionPackageManifest>
"""
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("cert/server.pref", pref)
            z.writestr("cert/truststore.p12", trust_p12)
            z.writestr(f"cert/{member}.p12", client_p12)
            z.writestr("MANIFEST/manifest.xml", manifest)
        return buf.getvalue(), password


def credential_of(peer: dict[str, object] | None) -> tuple[str, str]:
    """(credential id, party) named by a verified peer certificate (``ssl.getpeercert()``)."""
    if not peer:
        raise InvalidInput("certificate", "no client certificate")
    fields: dict[str, str] = {}
    for rdn in peer.get("subject", ()):  # type: ignore[attr-defined]
        for k, v in rdn:
            fields[k] = v
    uid, org = fields.get("userId", ""), fields.get("organizationName", "")
    if not uid or not org:
        raise InvalidInput("certificate", "the certificate names no credential (UID) or party (O)")
    return uid, org

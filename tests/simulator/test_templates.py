"""Templates: direct upload endpoint, URL registration, states and errors."""

from __future__ import annotations

import functools
import os
import resource
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

MiB = 2**20


class MultipartFile:
    """A multipart/form-data body streamed from a file with a known length (no chunked encoding)."""

    def __init__(self, path: Path, filename: str | None = None, field: str = "file") -> None:
        boundary = "simboundary7f3a9c"
        self.path = path
        self.head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
                     f"filename=\"{filename or path.name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.content_type = f"multipart/form-data; boundary={boundary}"

    def __len__(self) -> int:
        return len(self.head) + self.path.stat().st_size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        with self.path.open("rb") as f:
            while chunk := f.read(MiB):
                yield chunk
        yield self.tail


def _upload_params(cs, name: str = "stemcell", fmt: str = "VHD", zone: str = "zone-xen",
                   hypervisor: str = "XenServer") -> dict:
    ostype = cs.ok("listOsTypes", description="Other PV (64-bit)")["ostype"][0]["id"]
    body = cs.ok("getUploadParamsForTemplate", "POST", name=name, displaytext=name, format=fmt,
                 hypervisor=hypervisor, zoneid=cs.zone(zone), ostypeid=ostype, requireshvm=False)
    return body["getuploadparams"]


def _headers(params: dict) -> dict[str, str]:
    return {"X-signature": params["signature"], "X-metadata": params["metadata"], "X-expires": params["expires"]}


def _template(cs, tid: str) -> dict:
    return cs.one("listTemplates", "template", templatefilter="self", id=tid)


def _wait_template(cs, tid: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        tpl = _template(cs, tid)
        if tpl["isready"] or "Fail" in tpl.get("status", "") or "mismatch" in tpl.get("status", ""):
            return tpl
        assert time.monotonic() < deadline, tpl
        time.sleep(0.05)


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "root.vhd"
    path.write_bytes(b"conectix" + os.urandom(64 * 1024))
    return path


def test_upload_params_shape_and_response_key(cs) -> None:
    r = cs.raw("getUploadParamsForTemplate", "POST", name="s", format="VHD", hypervisor="XenServer",
               zoneid=cs.zone(), ostypeid=cs.ok("listOsTypes")["ostype"][0]["id"])
    body = r.json()
    assert list(body) == ["postuploadtemplateresponse"]
    params = body["postuploadtemplateresponse"]["getuploadparams"]
    assert set(params) == {"id", "postURL", "metadata", "expires", "signature"}
    # the SSVM is another host than the API: its own listener, never the API's address and port
    assert params["postURL"] == f"{cs.sim.upload_base}/upload/{params['id']}"
    assert not params["postURL"].startswith(cs.sim.base_url)
    tpl = _template(cs, params["id"])
    assert tpl["isready"] is False and tpl["requireshvm"] is True  # requireshvm defaults to true


def test_upload_format_must_be_qcow2_ova_or_vhd(cs) -> None:
    status, text = cs.error("getUploadParamsForTemplate", "POST", name="s", format="RAW", hypervisor="KVM",
                            zoneid=cs.zone("zone-kvm"), ostypeid=cs.ok("listOsTypes")["ostype"][0]["id"])
    assert status == 431 and "RAW" in text


def test_upload_success_records_size_and_sha256(cs, image: Path) -> None:
    import hashlib

    params = _upload_params(cs)
    body = MultipartFile(image, filename="stemcell.vhd")
    r = requests.post(params["postURL"], data=body, timeout=30,
                      headers={**_headers(params), "Content-Type": body.content_type})
    assert (r.status_code, r.text) == (200, "upload successful.")
    tpl = _wait_template(cs, params["id"])
    assert tpl["isready"] is True and tpl["status"] == "Download Complete"
    inv = next(t for t in cs.sim.inventory()["templates"] if t["id"] == params["id"])
    assert inv["upload"] == {"bytes": image.stat().st_size, "sha256": hashlib.sha256(image.read_bytes()).hexdigest(),
                             "filename": "stemcell.vhd", "content_type": "application/octet-stream",
                             "source": "upload"}
    again = requests.post(params["postURL"], data=MultipartFile(image), timeout=30,
                          headers={**_headers(params), "Content-Type": body.content_type})
    assert (again.status_code, again.text) == (
        400, "The one time post url is already used and the upload is in COMPLETED state.")


def test_upload_bz2_suffix_ok_for_vhd(cs, image: Path) -> None:
    params = _upload_params(cs)
    body = MultipartFile(image, filename="root.vhd.bz2")
    r = requests.post(params["postURL"], data=body, headers={**_headers(params), "Content-Type": body.content_type},
                      timeout=30)
    assert r.status_code == 200


def test_upload_wrong_suffix_is_an_error_state(cs, image: Path) -> None:
    params = _upload_params(cs)
    body = MultipartFile(image, filename="root.qcow2")
    r = requests.post(params["postURL"], data=body, headers={**_headers(params), "Content-Type": body.content_type},
                      timeout=30)
    assert (r.status_code, r.text) == (400, "File type mismatch between the sent file and the actual content")
    tpl = _template(cs, params["id"])
    assert tpl["isready"] is False
    assert tpl["status"] == "File type mismatch between the sent file and the actual content"


@pytest.mark.parametrize(("drop", "text"), [
    ("X-signature", "signature, metadata and expires are compulsory fields."),
    ("X-metadata", "signature, metadata and expires are compulsory fields."),
    ("X-expires", "signature, metadata and expires are compulsory fields."),
])
def test_upload_headers_required(cs, image: Path, drop: str, text: str) -> None:
    params = _upload_params(cs)
    body = MultipartFile(image)
    headers = {k: v for k, v in _headers(params).items() if k != drop}
    r = requests.post(params["postURL"], data=body, headers={**headers, "Content-Type": body.content_type}, timeout=30)
    assert (r.status_code, r.text) == (400, text)


def test_upload_header_names_case_insensitive_and_bad_signature(cs, image: Path) -> None:
    params = _upload_params(cs)
    body = MultipartFile(image)
    lower = {k.lower(): v for k, v in _headers(params).items()}
    bad = dict(lower, **{"x-signature": "AAAA" + params["signature"][4:]})
    r = requests.post(params["postURL"], data=body, headers={**bad, "Content-Type": body.content_type}, timeout=30)
    assert (r.status_code, r.text) == (400, "signature validation failed.")
    r = requests.post(params["postURL"], data=body, headers={**lower, "Content-Type": body.content_type}, timeout=30)
    assert r.status_code == 200


def test_upload_signature_covers_host(cs, image: Path) -> None:
    params = _upload_params(cs)
    body = MultipartFile(image)
    url = params["postURL"].replace("127.0.0.1", "localhost")
    r = requests.post(url, data=body, headers={**_headers(params), "Content-Type": body.content_type}, timeout=30)
    assert (r.status_code, r.text) == (400, "signature validation failed.")


def test_upload_expired(make_sim, image: Path) -> None:
    cs = make_sim({"templates": {"upload_validity": -1}})
    params = _upload_params(cs)
    body = MultipartFile(image)
    r = requests.post(params["postURL"], data=body, headers={**_headers(params), "Content-Type": body.content_type},
                      timeout=30)
    assert (r.status_code, r.text) == (400, "request not valid anymore.")


def test_upload_requires_content_length(cs, image: Path) -> None:
    params = _upload_params(cs)
    body = MultipartFile(image)
    r = requests.post(params["postURL"], data=iter(body), timeout=30,  # a generator: chunked encoding
                      headers={**_headers(params), "Content-Type": body.content_type})
    assert (r.status_code, r.text) == (400, "content length is not set in the request or has invalid value.")
    r = requests.post(params["postURL"], data=b"", headers={**_headers(params), "Content-Type": body.content_type},
                      timeout=30)
    assert r.status_code == 400


def test_upload_requires_multipart(cs, image: Path) -> None:
    params = _upload_params(cs)
    r = requests.post(params["postURL"], data=image.read_bytes(), headers=_headers(params), timeout=30)
    assert r.status_code == 400 and "multipart" in r.text


def test_upload_ready_delay_shows_installing(make_sim, image: Path) -> None:
    cs = make_sim({"templates": {"ready_delay": 0.3}})
    params = _upload_params(cs)
    body = MultipartFile(image)
    requests.post(params["postURL"], data=body, headers={**_headers(params), "Content-Type": body.content_type},
                  timeout=30)
    tpl = _template(cs, params["id"])
    assert (tpl["isready"], tpl["status"]) == (False, "Installing Template")
    assert _wait_template(cs, params["id"])["status"] == "Download Complete"


def test_fault_template_ends_in_error(cs, image: Path) -> None:
    cs.sim.faults.fail_templates(status="Failed post download script: simulated")
    params = _upload_params(cs)
    body = MultipartFile(image)
    r = requests.post(params["postURL"], data=body, headers={**_headers(params), "Content-Type": body.content_type},
                      timeout=30)
    assert r.status_code == 200
    tpl = _template(cs, params["id"])
    assert (tpl["isready"], tpl["status"]) == (False, "Failed post download script: simulated")


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sparse_upload(cs, tmp_path: Path, size: int) -> None:
    sparse = tmp_path / "sparse.vhd"
    with sparse.open("wb") as f:
        f.truncate(size)  # sparse: no disk blocks, no page cache to speak of
    params = _upload_params(cs)
    body = MultipartFile(sparse)
    before = _peak_rss_mib()
    r = requests.post(params["postURL"], data=body, headers={**_headers(params), "Content-Type": body.content_type},
                      timeout=600)
    grown = _peak_rss_mib() - before
    assert r.status_code == 200, r.text
    inv = next(t for t in cs.sim.inventory()["templates"] if t["id"] == params["id"])
    assert inv["upload"]["bytes"] == size
    # Server and client share this process: both together stay flat in the image size.
    assert grown < 48, f"peak RSS grew by {grown:.0f} MiB for a {size // MiB} MiB upload"


def test_sparse_upload_memory_flat_256mib(cs, tmp_path: Path) -> None:
    _sparse_upload(cs, tmp_path, 256 * MiB)


@pytest.mark.heavy
@pytest.mark.skipif(not os.environ.get("CPI_HEAVY_TESTS"), reason="multi-GB upload: set CPI_HEAVY_TESTS=1")
def test_sparse_upload_memory_flat_4gib(cs, tmp_path: Path) -> None:
    _sparse_upload(cs, tmp_path, 4 * 1024 * MiB)


# -- registerTemplate ----------------------------------------------------------------------

@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[str]:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a, **k: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _register(cs, url: str, fmt: str = "QCOW2", zone: str = "zone-kvm", hypervisor: str = "KVM") -> dict:
    ostype = cs.ok("listOsTypes", description="Other Linux (64-bit)")["ostype"][0]["id"]
    body = cs.ok("registerTemplate", "POST", name="reg", displaytext="reg", format=fmt, hypervisor=hypervisor,
                 url=url, zoneid=cs.zone(zone), ostypeid=ostype)
    assert body["count"] == 1
    return body["template"][0]


def test_register_from_loopback_url(cs, tmp_path: Path, file_server: str) -> None:
    import hashlib

    data = os.urandom(3 * MiB)
    (tmp_path / "img.qcow2").write_bytes(data)
    tpl = _register(cs, f"{file_server}/img.qcow2")
    assert tpl["isready"] is False
    ready = _wait_template(cs, tpl["id"])
    assert ready["isready"] is True and ready["status"] == "Download Complete"
    inv = next(t for t in cs.sim.inventory()["templates"] if t["id"] == tpl["id"])
    assert inv["upload"]["sha256"] == hashlib.sha256(data).hexdigest() and inv["upload"]["bytes"] == len(data)
    vm = cs.deploy(zone="zone-kvm", templateid=tpl["id"])
    assert vm["templateid"] == tpl["id"]


def test_register_404_is_error_status(cs, file_server: str) -> None:
    tpl = _register(cs, f"{file_server}/missing.qcow2")
    failed = _wait_template(cs, tpl["id"])
    assert failed["isready"] is False
    assert failed["status"] == "Failed to download template: HTTP Server returned 404 (expected 200 OK)"


def test_register_rejects_remote_hosts_and_wrong_suffix(cs) -> None:
    ostype = cs.ok("listOsTypes")["ostype"][0]["id"]
    base = {"name": "r", "displaytext": "r", "format": "QCOW2", "hypervisor": "KVM", "zoneid": cs.zone("zone-kvm"),
            "ostypeid": ostype}
    assert cs.error("registerTemplate", "POST", url="http://example.com/x.qcow2", **base)[0] == 431
    assert cs.error("registerTemplate", "POST", url="http://127.0.0.1:9/x.vhd", **base)[1] == \
        "Please specify a valid qcow2"


def test_delete_template_in_use_needs_forced(cs) -> None:
    tpl = cs.sim.add_template("zone-xen", "extra")
    cs.deploy(templateid=tpl["id"], name="user")
    job = cs.job("deleteTemplate", id=tpl["id"])
    assert job["jobstatus"] == 2 and "are using it" in job["jobresult"]["errortext"]
    assert cs.result("deleteTemplate", id=tpl["id"], forced=True) == {"success": True}
    assert cs.ok("listTemplates", templatefilter="self", id=tpl["id"]) == {}


def test_template_filters(cs) -> None:
    cs.sim.add_template("zone-xen", "pending", ready=False)
    names_self = {t["name"] for t in cs.ok("listTemplates", templatefilter="self")["template"]}
    names_exec = {t["name"] for t in cs.ok("listTemplates", templatefilter="executable")["template"]}
    assert "pending" in names_self and "pending" not in names_exec
    assert {"bosh-stemcell-xen", "bosh-stemcell-kvm", "bosh-stemcell-vmware"} <= names_exec
    assert cs.error("listTemplates", templatefilter="mine")[0] == 431
    assert cs.ok("updateTemplate", "POST", id=cs.template(cs.zone()), displaytext="x")["template"]["displaytext"] == "x"


def test_api_host_has_no_upload_endpoint_and_upload_host_no_api(cs, image: Path) -> None:
    params = _upload_params(cs)
    body = MultipartFile(image)
    on_api = params["postURL"].replace(cs.sim.upload_base, cs.sim.base_url)
    r = requests.post(on_api, data=body, headers={**_headers(params), "Content-Type": body.content_type}, timeout=30)
    assert r.status_code == 404
    assert requests.get(f"{cs.sim.upload_base}/client/api?command=listZones", timeout=10).status_code == 404


def test_upload_larger_than_max_template_size_is_refused(make_sim, image: Path) -> None:
    cs = make_sim({"templates": {"max_upload_size_gb": 0}})  # any image is 1 GB rounded up: too large
    params = _upload_params(cs)
    body = MultipartFile(image)
    r = requests.post(params["postURL"], data=body, headers={**_headers(params), "Content-Type": body.content_type},
                      timeout=30)
    text = "Maximum file upload size exceeded. Content Length received: 1GB. Maximum allowed size: 0GB."
    assert (r.status_code, r.text) == (400, text)
    assert _template(cs, params["id"])["status"] == text


@pytest.mark.parametrize(("algorithm", "good"), [("md5", True), ("sha256", True), ("sha512", False)])
def test_upload_checksum_is_verified(cs, image: Path, algorithm: str, good: bool) -> None:
    import hashlib

    digest = hashlib.new(algorithm, image.read_bytes()).hexdigest()
    if not good:
        digest = digest[:-1] + ("0" if digest[-1] != "0" else "1")
    ostype = cs.ok("listOsTypes", description="Other PV (64-bit)")["ostype"][0]["id"]
    answer = cs.ok("getUploadParamsForTemplate", "POST", name="sum", displaytext="sum", format="VHD",
                   hypervisor="XenServer", zoneid=cs.zone("zone-xen"), ostypeid=ostype, checksum=digest)
    params = answer["getuploadparams"]
    body = MultipartFile(image)
    r = requests.post(params["postURL"], data=body, headers={**_headers(params), "Content-Type": body.content_type},
                      timeout=30)
    if good:
        assert r.status_code == 200
    else:
        assert (r.status_code, r.text) == (500, "Checksum failed, not proceeding with install")
        assert _template(cs, params["id"])["isready"] is False


def test_postURL_host_follows_ssl_cert_domain(make_sim) -> None:
    cs = make_sim({"templates": {"ssl_cert_domain": "*.ssvm.example"}})
    params = _upload_params(cs)
    assert params["postURL"].startswith(f"http://127-0-0-1.ssvm.example:{cs.sim.upload_port}/upload/")


def test_upload_without_a_file_part_is_not_a_file(cs) -> None:
    params = _upload_params(cs)
    boundary = "simboundary7f3a9c"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nno file here\r\n"
            f"--{boundary}--\r\n").encode()
    r = requests.post(params["postURL"], data=body, timeout=30,
                      headers={**_headers(params), "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert (r.status_code, r.text) == (422, "received entity is not a file")  # readFileUploadData
    assert _template(cs, params["id"])["status"] == "received entity is not a file"

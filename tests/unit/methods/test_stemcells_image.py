"""The image sources: a stemcell image file, or a member streamed out of its tar archive.

OpenStack stemcells ship ``root.img`` inside the gzipped tarball ``image``; the upload and the
url-mode server read it through :func:`image_source` without a temporary copy.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import os
import tarfile
import tracemalloc
from pathlib import Path

import pytest

from cpi_framework.errors import CloudError
from cpi_framework.services.serve import ImageServer
from cpi_framework.services.upload import ImageSource, MultipartFile, UploadFailed, image_source

ROOT = b"QFI\xfb" + bytes(range(256)) * 64  # 16 KiB + 4: a qcow2-looking disk with varied bytes


def pack(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:
        for item in members:
            if isinstance(item, tarfile.TarInfo):
                tar.addfile(item)
                continue
            name, data = item
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def link(name: str, target: str, kind: bytes = tarfile.LNKTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def read_all(source: ImageSource, offset: int = 0) -> bytes:
    with source.open(offset) as stream:
        return stream.read(source.size - offset)


@pytest.mark.parametrize("mode, compression", [("w:gz", "gzip"), ("w:bz2", "bzip2"), ("w:xz", "xz"), ("w", None)])
def test_a_member_is_streamed_with_its_header_size(tmp_path: Path, mode: str, compression: str | None) -> None:
    image = pack(tmp_path / "image", [("root.img", ROOT)], mode)
    source = image_source(str(image), "root.img")
    assert (source.member, source.size, source.compression) == ("root.img", len(ROOT), compression)
    assert read_all(source) == ROOT
    assert read_all(source, 1000) == ROOT[1000:]  # Range requests of the url-mode server


def test_member_names_are_compared_normalised_and_later_members_are_found(tmp_path: Path) -> None:
    image = pack(tmp_path / "image", [("./README", b"hello"), ("./root.img", ROOT), ("other", b"x")])
    source = image_source(str(image), "root.img")
    assert source.member == "root.img" and read_all(source) == ROOT


def test_a_hard_link_and_a_symlink_resolve_to_their_target(tmp_path: Path) -> None:
    # `ln root.qcow2 root.img; tar zcf image root.qcow2 root.img` stores root.img as a hard link
    hard = pack(tmp_path / "hard", [("root.qcow2", ROOT), link("root.img", "root.qcow2")])
    assert read_all(image_source(str(hard), "root.img")) == ROOT
    soft = pack(tmp_path / "soft", [link("root.img", "disks/root.qcow2", tarfile.SYMTYPE),
                                    ("disks/root.qcow2", ROOT)])
    source = image_source(str(soft), "root.img")
    assert source.member == "disks/root.qcow2" and read_all(source) == ROOT


def test_a_link_loop_is_an_error(tmp_path: Path) -> None:
    image = pack(tmp_path / "image", [link("root.img", "a.img", tarfile.SYMTYPE),
                                      link("a.img", "root.img", tarfile.SYMTYPE)])
    with pytest.raises(CloudError, match="chain of more than"):
        image_source(str(image), "root.img")


def test_a_missing_member_names_the_member_the_archive_and_what_it_holds(tmp_path: Path) -> None:
    image = pack(tmp_path / "image", [("kernel.img", b"k"), ("initrd.img", b"i")])
    with pytest.raises(CloudError) as info:
        image_source(str(image), "root.img")
    message = str(info.value)
    assert "'root.img'" in message and str(image) in message and "kernel.img, initrd.img" in message


def test_a_directory_member_is_not_an_image(tmp_path: Path) -> None:
    directory = tarfile.TarInfo("root.img")
    directory.type = tarfile.DIRTYPE
    with pytest.raises(CloudError, match="not a regular file"):
        image_source(str(pack(tmp_path / "image", [directory])), "root.img")


def test_a_compressed_file_that_is_no_tar_archive_is_an_error(tmp_path: Path) -> None:
    image = tmp_path / "image"
    image.write_bytes(gzip.compress(ROOT))  # a root.qcow2.gz, say
    with pytest.raises(CloudError) as info:
        image_source(str(image), "root.img")
    assert "gzip-compressed but not a tar archive" in str(info.value) and "'root.img'" in str(info.value)


def test_a_truncated_archive_is_an_error_naming_the_member(tmp_path: Path) -> None:
    image = pack(tmp_path / "image", [("kernel.img", os.urandom(1 << 16)), ("root.img", ROOT)])
    image.write_bytes(image.read_bytes()[:4096])
    with pytest.raises(CloudError, match="Cannot read 'root.img' from the stemcell image archive"):
        image_source(str(image), "root.img")


def test_an_uncompressed_file_that_is_no_archive_is_taken_whole(tmp_path: Path) -> None:
    image = tmp_path / "image"
    image.write_bytes(ROOT)  # a bare qcow2, e.g. a hand-made stemcell
    source = image_source(str(image), "root.img")
    assert source.member is None and source.size == len(ROOT) and read_all(source) == ROOT


def test_without_a_member_the_file_is_the_image_unread(tmp_path: Path) -> None:
    image = pack(tmp_path / "image", [("root.img", ROOT)])
    source = image_source(str(image))
    assert source == ImageSource(str(image), image.stat().st_size)


def test_the_multipart_body_of_a_member_has_the_exact_length(tmp_path: Path) -> None:
    image = pack(tmp_path / "image", [("root.img", ROOT)])
    body = MultipartFile(image_source(str(image), "root.img"), filename="t.qcow2", chunk_size=1000, boundary="B")
    data = b"".join(body)
    assert len(data) == len(body) and ROOT in data and body.sent == len(ROOT)
    assert data.startswith(b"--B\r\n") and b'filename="t.qcow2"' in data


def test_an_archive_truncated_after_probing_fails_the_upload_not_the_process(tmp_path: Path) -> None:
    image = pack(tmp_path / "image", [("root.img", os.urandom(1 << 18))])
    body = MultipartFile(image_source(str(image), "root.img"), filename="t.qcow2")
    image.write_bytes(image.read_bytes()[: 1 << 16])
    with pytest.raises(UploadFailed, match="reading 'root.img' in .* failed after"):
        b"".join(body)


def test_reading_a_member_keeps_memory_bounded_whatever_the_compression_ratio(tmp_path: Path) -> None:
    # bzip2 packs 32 MiB of zeros into a few hundred bytes: tarfile's own r|bz2 would inflate it in one go
    image = pack(tmp_path / "image", [("root.img", bytes(32 << 20))], "w:bz2")
    source = image_source(str(image), "root.img")
    tracemalloc.start()
    try:
        sha, total = hashlib.sha256(), 0
        with source.open() as stream:
            while chunk := stream.read(1 << 20):
                sha.update(chunk)
                total += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == 32 << 20 and sha.hexdigest() == hashlib.sha256(bytes(32 << 20)).hexdigest()
    assert peak < 8 << 20, f"peak {peak / (1 << 20):.1f} MiB while reading a 32 MiB member"


def test_the_image_server_serves_a_member_with_its_length_and_ranges(tmp_path: Path) -> None:
    image = pack(tmp_path / "image", [("README", b"x" * 700), ("root.img", ROOT)])
    with ImageServer(image_source(str(image), "root.img"), "s-1.qcow2", "127.0.0.1:0") as server:
        host, port = server.httpd.server_address[:2]
        path = server.url.split(str(port), 1)[1]
        conn = http.client.HTTPConnection(host, port, timeout=10)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            assert response.status == 200 and response.getheader("Content-Length") == str(len(ROOT))
            assert response.read() == ROOT
            conn.request("GET", path, headers={"Range": "bytes=100-199"})
            response = conn.getresponse()
            assert response.status == 206 and response.read() == ROOT[100:200]
            assert response.getheader("Content-Range") == f"bytes 100-199/{len(ROOT)}"
        finally:
            conn.close()

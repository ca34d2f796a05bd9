"""The node's pause image, written as an OCI archive by hand (no registry to pull one from)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

from controlplane.node import write_pause_image


def _blob(archive: tarfile.TarFile, descriptor: dict[str, Any]) -> bytes:
    member = archive.extractfile(f"blobs/sha256/{descriptor['digest'].removeprefix('sha256:')}")
    assert member is not None
    data = member.read()
    assert len(data) == descriptor["size"]
    assert f"sha256:{hashlib.sha256(data).hexdigest()}" == descriptor["digest"]
    return data


def test_pause_archive_is_a_named_oci_image_running_the_init(tmp_path: Path) -> None:
    init = tmp_path / "catatonit"
    init.write_bytes(b"\x7fELF not really")
    init.chmod(0o755)
    path = tmp_path / "pause.tar"
    write_pause_image(path, "localhost/pause:test", init)
    with tarfile.open(path) as archive:
        assert json.loads(archive.extractfile("oci-layout").read())["imageLayoutVersion"] == "1.0.0"  # type: ignore[union-attr]
        (manifest_descriptor,) = json.loads(archive.extractfile("index.json").read())["manifests"]  # type: ignore[union-attr]
        assert manifest_descriptor["annotations"]["io.containerd.image.name"] == "localhost/pause:test"
        manifest = json.loads(_blob(archive, manifest_descriptor))
        config = json.loads(_blob(archive, manifest["config"]))
        (layer_descriptor,) = manifest["layers"]
        layer = _blob(archive, layer_descriptor)
    assert config["config"]["Entrypoint"] == ["/catatonit", "-P"]
    assert config["rootfs"]["diff_ids"] == [layer_descriptor["digest"]]  # uncompressed: same digest
    with tarfile.open(fileobj=io.BytesIO(layer)) as files:
        (member,) = files.getmembers()
        assert (member.name, member.uid, member.mode & 0o777) == ("catatonit", 0, 0o755)
        assert files.extractfile(member).read() == b"\x7fELF not really"  # type: ignore[union-attr]

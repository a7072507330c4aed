from pathlib import Path

import pytest

from provenance.mounts import is_network_path, read_mount_table

TABLE = """\
22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
40 22 0:40 / /mnt/show rw,relatime shared:20 - nfs4 filer:/vol/show rw,vers=4.2
41 22 0:41 / /mnt/vendor\\040b rw,relatime shared:21 - cifs //nas/vendor rw
42 22 0:42 / /home/me/remote rw - fuse.sshfs me@host:/data rw
43 40 253:2 / /mnt/show/local rw - ext4 /dev/vdb rw
"""


@pytest.mark.parametrize(
    "path, network",
    [
        ("/mnt/show/ep101/plate.exr", True),
        ("/mnt/vendor b/x.mov", True),
        ("/home/me/remote/a.png", True),
        ("/mnt/show/local/cache.db", False),  # a local disk mounted inside the share
        ("/mnt/showcase/a.png", False),  # a prefix of a mount point is not inside it
        ("/var/lib/provgate", False),
    ],
)
def test_network_filesystems_come_from_the_mount_table(path: str, network: bool) -> None:
    assert is_network_path(Path(path), read_mount_table(TABLE)) is network

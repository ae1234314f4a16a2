#!/bin/sh
# Build Flowloop's optional native kernels (native/flowloop_native.cc) into native/build/flowloop_native.node.
# Needs g++, Node's headers (/usr/include/node or node-gyp's cache) and Debian's OpenBLAS:
#   apt-get install -y g++ libopenblas-dev
# Without it Flowloop runs its wasm/JS kernels (core/tensor falls back by itself).
set -e
cd "$(dirname "$0")"
NODE_INC=""
for d in /usr/include/node "$(dirname "$(dirname "$(command -v node)")")/include/node" "$HOME/.cache/node-gyp/$(node -p process.versions.node)/include/node"; do
  if [ -f "$d/node_api.h" ]; then NODE_INC="$d"; break; fi
done
[ -n "$NODE_INC" ] || { echo "native/build.sh: node_api.h not found (install nodejs headers)" >&2; exit 1; }
BLAS_INC=/usr/include/x86_64-linux-gnu/openblas-pthread
BLAS_LIB=/usr/lib/x86_64-linux-gnu/openblas-pthread
[ -f "$BLAS_INC/cblas.h" ] || { echo "native/build.sh: OpenBLAS missing (apt-get install -y libopenblas-dev)" >&2; exit 1; }
mkdir -p build
g++ -O3 -march=native -fopenmp -fPIC -shared -std=c++17 -DNODE_GYP_MODULE_NAME=flowloop_native \
  -I"$NODE_INC" -I"$BLAS_INC" flowloop_native.cc -o build/flowloop_native.node.tmp \
  -L"$BLAS_LIB" -Wl,-rpath,"$BLAS_LIB" -lopenblas
mv build/flowloop_native.node.tmp build/flowloop_native.node
echo "built native/build/flowloop_native.node"

# Flowloop's native kernels (flowloop_native.cc) as a standard node-gyp addon, built by native/build.mjs
# (`npm ci` runs it as the package's install script). Portable: no -march=native (OpenBLAS dispatches on the
# CPU at run time); OpenBLAS linked statically from Debian's libopenblas-pthread-dev; libstdc++/libgcc static;
# libgomp (OpenMP runtime, not linkable statically into a shared object) is copied beside the addon and
# found through the $ORIGIN rpath. The result loads on a machine without libopenblas or g++.
{
  "variables": {
    "openblas_inc%": "/usr/include/x86_64-linux-gnu/openblas-pthread",
    "openblas_lib%": "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.a",
  },
  "targets": [
    {
      "target_name": "flowloop_native",
      "sources": ["flowloop_native.cc"],
      "include_dirs": ["<(openblas_inc)"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags": ["-O3", "-fopenmp", "-fvisibility=hidden"],
      "cflags_cc": ["-O3", "-std=c++17", "-fopenmp", "-fvisibility=hidden"],
      "libraries": ["<(openblas_lib)", "-fopenmp", "-static-libstdc++", "-static-libgcc"],
      "ldflags": ["-Wl,--exclude-libs,ALL", "-Wl,-rpath,'$$ORIGIN'", "-Wl,-z,origin", "-s"],
    }
  ]
}

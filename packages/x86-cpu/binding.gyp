{
  "targets": [
    {
      "target_name": "nommu_unicorn",
      "sources": ["native/unicorn_backend.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lunicorn", "-lpthread"]
    }
  ],
  "conditions": [
    ["OS=='linux' and target_arch=='x64'", {
      "targets": [
        {
          "target_name": "nommu_native",
          "sources": ["native/native_backend.c"],
          "cflags": ["-O2", "-Wall", "-Wextra"]
        },
        {
          "target_name": "nommu-native-runner",
          "type": "executable",
          "sources": ["native/runner.c", "native/native_entry.S"],
          "cflags": ["-O2", "-Wall", "-Wextra", "-fno-stack-protector", "-U_FORTIFY_SOURCE"],
          "ldflags": ["-Wl,-z,now"],
          "libraries": ["-lrt", "-lpthread"]
        }
      ]
    }]
  ]
}

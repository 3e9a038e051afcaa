{
  "targets": [
    {
      "target_name": "nommu_unicorn",
      "sources": ["native/unicorn_backend.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lunicorn", "-lpthread"]
    }
  ]
}

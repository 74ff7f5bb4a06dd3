/**
 * Installs what the suite needs from Debian when it is missing and this machine allows it (root,
 * apt-get): OpenBLAS (the native matrix-product path, lib/core/native_blas.ts), Jupyter for
 * /usr/bin/python3 (nbconvert, nbclient, ipykernel, jupyter_client), Chromium, and Slurm with
 * munge (the job-array test). Run by `deno task test` before the suite; anything it cannot
 * install makes the tests that need it skip, saying so. Never fails the run itself.
 */
const packages: string[] = [];
const ok = async (cmd: string, args: string[]) => {
  try {
    return (await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output()).code === 0;
  } catch {
    return false;
  }
};
if (!(await ok("/usr/bin/python3", ["-c", "import jupyter_client, nbformat, nbconvert, ipykernel"]))) {
  packages.push("jupyter-nbconvert", "python3-nbclient", "python3-ipykernel", "jupyter-client");
}
if (!(await ok("/usr/bin/chromium", ["--version"]))) packages.push("chromium");
// A real Slurm for the job-array test (tests/slurm_test.ts starts its daemons on this machine).
if (!(await ok("/usr/sbin/slurmctld", ["-V"])) || !(await ok("/usr/sbin/munged", ["--version"]))) {
  packages.push("slurm-wlm", "munge");
}
const hasOpenBlas = async () => {
  for (const dir of ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"]) {
    if (await Deno.stat(`${dir}/libopenblas.so.0`).then(() => true, () => false)) return true;
  }
  return false;
};
if (Deno.build.os === "linux" && !(await hasOpenBlas())) packages.push("libopenblas0-pthread");
if (packages.length > 0) {
  const root = Deno.uid?.() === 0;
  if (!root || !(await ok("apt-get", ["--version"]))) {
    console.error(
      `setup: missing ${
        packages.join(" ")
      }; install them with apt-get (the notebook tests skip without Jupyter and Chromium; without OpenBLAS the kit runs on the stock wasm kernels)`,
    );
  } else {
    console.error(`setup: installing ${packages.join(" ")} with apt-get (once)`);
    const run = (args: string[]) =>
      new Deno.Command("apt-get", {
        args,
        stdout: "null",
        stderr: "inherit",
        env: { DEBIAN_FRONTEND: "noninteractive" },
      })
        .output();
    let r = await run(["install", "-y", "-q", ...packages]);
    if (r.code !== 0) {
      await run(["update", "-q"]);
      r = await run(["install", "-y", "-q", ...packages]);
    }
    console.error(r.code === 0 ? "setup: done" : "setup: apt-get failed; the tests that need those packages will skip");
  }
}

/**
 * A reproduction grid as a job array on a real Slurm (Debian's slurm-wlm and munge, started here
 * on this one machine: slurmctld, slurmd, munged), collected into the same values as an
 * unsharded run. Skips, saying why, without root or without the packages (`deno task test`'s
 * set-up installs them where it can).
 */
import assert from "node:assert/strict";

const need = ["/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/sbatch"];
const missing = need.filter((p) => {
  try {
    Deno.statSync(p);
    return false;
  } catch {
    return true;
  }
});
const root = Deno.uid?.() === 0;
const reason = !root ? "not root" : missing.length ? `missing ${missing.join(", ")}` : "";
const root_ = new URL("..", import.meta.url).pathname;

async function run(cmd: string, args: string[], env: Record<string, string> = {}, cwd = root_) {
  const out = await new Deno.Command(cmd, { args, env, cwd, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (out.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${out.code}: ${text.slice(-2000)}`);
  return text;
}

Deno.test({
  name: `a grid runs as a Slurm job array and collects into the same values as one unsharded run${
    reason ? ` (skipped: ${reason})` : ""
  }`,
  ignore: reason !== "",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "clinical-rl-slurm-" });
    const conf = `${dir}/slurm.conf`;
    const host = (await run("hostname", ["-s"])).trim();
    const pids: string[] = [];
    try {
      // munge: a key if none, and a daemon if none answers.
      try {
        Deno.statSync("/etc/munge/munge.key");
      } catch {
        await Deno.writeFile("/etc/munge/munge.key", crypto.getRandomValues(new Uint8Array(1024)), { mode: 0o400 });
        await run("chown", ["munge:munge", "/etc/munge/munge.key"]);
      }
      const munged = await new Deno.Command("pgrep", { args: ["-x", "munged"], stdout: "null" }).output();
      if (munged.code !== 0) {
        await Deno.mkdir("/run/munge", { recursive: true });
        await run("chown", ["munge:munge", "/run/munge"]);
        await run("runuser", ["-u", "munge", "--", "/usr/sbin/munged", "--force"]);
      }
      const cpus = navigator.hardwareConcurrency;
      const memory = Math.floor(Deno.systemMemoryInfo().total / 2 ** 20 * 0.8); // MB, with room for the OS
      await Deno.writeTextFile(
        conf,
        [
          "ClusterName=kit",
          `SlurmctldHost=${host}`,
          "SlurmUser=root",
          "SlurmdUser=root",
          "AuthType=auth/munge",
          "ProctrackType=proctrack/linuxproc",
          "TaskPlugin=task/none",
          "SelectType=select/cons_tres",
          "SelectTypeParameters=CR_CPU",
          "SchedulerType=sched/backfill",
          "ReturnToService=2",
          `StateSaveLocation=${dir}/state`,
          `SlurmdSpoolDir=${dir}/spool`,
          `SlurmctldPidFile=${dir}/slurmctld.pid`,
          `SlurmdPidFile=${dir}/slurmd.pid`,
          `SlurmctldLogFile=${dir}/slurmctld.log`,
          `SlurmdLogFile=${dir}/slurmd.log`,
          "SlurmctldPort=16817",
          "SlurmdPort=16818",
          `NodeName=${host} CPUs=${cpus} RealMemory=${memory} State=UNKNOWN`,
          `PartitionName=kit Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
          "",
        ].join("\n"),
      );
      await Deno.mkdir(`${dir}/state`);
      await Deno.mkdir(`${dir}/spool`);
      await run("/usr/sbin/slurmctld", ["-f", conf]);
      pids.push(`${dir}/slurmctld.pid`);
      await run("/usr/sbin/slurmd", ["-f", conf]);
      pids.push(`${dir}/slurmd.pid`);
      const env = { SLURM_CONF: conf, GRID: "p4l-fig1", OUT: `${dir}/shards`, DENO: Deno.execPath() };
      // --wait: sbatch returns when every array task has ended (non-zero if any failed).
      await run("/usr/bin/sbatch", [
        "--wait",
        "--array=0-1",
        `--output=${dir}/task-%a.out`,
        "deploy/slurm/grid.sbatch",
        "--quick",
      ], env);
      const shards = [...Deno.readDirSync(`${dir}/shards`)].map((e) => e.name).filter((n) => n.endsWith(".json"));
      assert.deepEqual(shards.sort(), ["p4l-fig1.shard-0-of-2.json", "p4l-fig1.shard-1-of-2.json"]);
      await run(Deno.execPath(), ["task", "collect", "p4l-fig1", "--out", `${dir}/shards`]);
      await run(Deno.execPath(), ["task", "repro", "p4l-fig1", "--quick", "--out", `${dir}/whole`]);
      const sharded = JSON.parse(await Deno.readTextFile(`${dir}/shards/p4l-fig1.json`));
      const whole = JSON.parse(await Deno.readTextFile(`${dir}/whole/p4l-fig1.json`));
      assert.deepEqual(sharded.values, whole.values);
      assert.deepEqual(sharded.config, whole.config);
    } finally {
      for (const pidFile of pids) {
        try {
          Deno.kill(Number(Deno.readTextFileSync(pidFile).trim()), "SIGTERM");
        } catch { /* already gone */ }
      }
      await new Promise((r) => setTimeout(r, 500));
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * A real one-node Slurm cluster for the tests (Debian's slurm-wlm + munge): slurmctld and slurmd started
 * here with their own slurm.conf in a temporary folder, stopped by their PIDs afterwards. Needs root (the
 * daemons run as root, munge as munge). `whyNot()` names what is missing, for the test's skip reason.
 *
 * The node declares 8 CPUs whatever the machine has (`SlurmdParameters=config_overrides`) so an array's
 * tasks run side by side even on a 2-core runner; jobs are light (one CPU-bound task each at most).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Cluster {
  dir: string;
  conf: string;
  node: string;
  partition: string;
  /** Environment for Slurm's tools and Flowloop (SLURM_CONF). */
  env: NodeJS.ProcessEnv;
  stop(): void;
}

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Why a real cluster cannot be started here (undefined: it can). */
export function whyNot(): string | undefined {
  if (process.getuid?.() !== 0)
    return 'a real Slurm cluster needs root (slurmctld/slurmd/munged run as root and munge); run the tests as root, as CI does';
  for (const c of ['slurmctld', 'slurmd', 'munged', 'sbatch']) {
    if (!has(c) && !existsSync(`/usr/sbin/${c}`))
      return `${c} not found: install Debian's slurm-wlm and munge (apt-get install -y slurm-wlm munge; .ci/run and test/runAll.mjs do it as root)`;
  }
  return undefined;
}

/** Free TCP ports on loopback (asked of the kernel, then released). */
function freePorts(n: number): number[] {
  const script = `const net=require('net');const s=[];let k=${n};for(let i=0;i<${n};i++){const v=net.createServer();s.push(v);v.listen(0,'127.0.0.1',()=>{if(--k===0){console.log(s.map(x=>x.address().port).join(' '));s.forEach(x=>x.close());}});}`;
  return execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim().split(' ').map(Number);
}

const pidOf = (file: string) => (existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined);

function killPid(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    spawnSync('sleep', ['0.1']);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

export function startCluster(): Cluster {
  const dir = mkdtempSync(join(tmpdir(), 'flowloop-slurm-'));
  mkdirSync(join(dir, 'state'));
  mkdirSync(join(dir, 'spool'));
  const node = hostname();
  const conf = join(dir, 'slurm.conf');
  // private ports and a private munged: clusters of concurrent test runs on one machine never meet
  const ports = freePorts(2);
  const mungeDir = join(dir, 'munge');
  writeFileSync(
    conf,
    [
      'ClusterName=flowloop-test',
      `SlurmctldHost=${node}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldPort=${ports[0]}`,
      `SlurmdPort=${ports[1]}`,
      `AuthInfo=socket=${mungeDir}/munge.sock`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'JobAcctGatherType=jobacct_gather/none',
      `SlurmctldLogFile=${dir}/slurmctld.log`,
      `SlurmdLogFile=${dir}/slurmd.log`,
      'ReturnToService=1',
      'MpiDefault=none',
      'SlurmdParameters=config_overrides',
      'KillWait=5',
      'MinJobAge=600',
      'SchedulerParameters=sched_min_interval=100000',
      `NodeName=${node} CPUs=8 RealMemory=16000 State=UNKNOWN`,
      `PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
    ].join('\n') + '\n',
  );
  // munge: our own munged on our own socket (the key: the machine's, made if missing)
  mkdirSync('/etc/munge', { recursive: true });
  if (!existsSync('/etc/munge/munge.key') || readFileSync('/etc/munge/munge.key').length < 32) {
    writeFileSync('/etc/munge/munge.key', execFileSync('head', ['-c', '1024', '/dev/urandom']));
    execFileSync('chown', ['munge:munge', '/etc/munge/munge.key']);
    execFileSync('chmod', ['400', '/etc/munge/munge.key']);
  }
  mkdirSync(mungeDir);
  execFileSync('chmod', ['755', dir]);
  execFileSync('chown', ['munge:munge', mungeDir]);
  execFileSync('runuser', [
    '-u',
    'munge',
    '--',
    '/usr/sbin/munged',
    '--force',
    `--socket=${mungeDir}/munge.sock`,
    `--pid-file=${mungeDir}/munged.pid`,
    `--log-file=${mungeDir}/munged.log`,
    `--seed-file=${mungeDir}/munged.seed`,
    '--key-file=/etc/munge/munge.key',
  ]);
  const mungePid = pidOf(join(mungeDir, 'munged.pid'));
  const env = { ...process.env, SLURM_CONF: conf };
  const stop = () => {
    // jobs first (their slurmstepd outlive the daemons), then the daemons by their PID files
    const jobs = spawnSync('squeue', ['-h', '-o', '%A'], { env, encoding: 'utf8' }).stdout?.trim().split('\n').filter(Boolean) ?? [];
    if (jobs.length) spawnSync('scancel', jobs, { env });
    for (
      let i = 0;
      i < 40 && spawnSync('squeue', ['-h', '-t', 'running,completing', '-o', '%A'], { env, encoding: 'utf8' }).stdout?.trim();
      i++
    )
      spawnSync('sleep', ['0.25']);
    killPid(pidOf(join(dir, 'slurmd.pid')));
    killPid(pidOf(join(dir, 'slurmctld.pid')));
    killPid(mungePid);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    execFileSync('slurmctld', ['-f', conf], { env });
    execFileSync('slurmd', ['-f', conf], { env });
    for (let i = 0; ; i++) {
      const r = spawnSync('sinfo', ['-h', '-o', '%T'], { env, encoding: 'utf8' });
      if (/idle/.test(r.stdout)) break;
      if (i > 60)
        throw new Error(
          `the test cluster did not come up in 30 s: sinfo says "${(r.stdout + r.stderr).trim()}"; ${dir}/slurmctld.log:\n${existsSync(join(dir, 'slurmctld.log')) ? readFileSync(join(dir, 'slurmctld.log'), 'utf8').slice(-1500) : ''}`,
        );
      spawnSync('sleep', ['0.5']);
    }
  } catch (e) {
    stop();
    throw e;
  }
  return { dir, conf, node, partition: 'debug', env, stop };
}

/**
 * An audio backend for headless Firefox on a machine without a sound card: a private PulseAudio daemon whose only
 * sink is a null sink. Without one, Firefox ESR 153 on Debian closes the page as soon as an `AudioContext` starts
 * running (measured: the BiDi call fails with "Target closed"); with it, the context runs in real time at the
 * requested rate. Private: no configuration file is read (`-n`), its socket and state live in a fresh temporary
 * directory, so nothing of a user's own sound server is touched, and it is stopped by its own pid.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** A running daemon: the environment that points a client at it, and how to stop it. */
export interface NullSink {
  /** `PULSE_SERVER` for the browser process. */
  readonly env: { readonly PULSE_SERVER: string };
  stop(): Promise<void>;
}

/** Starts the daemon; resolves once it accepts clients (`--daemonize` returns when the daemon is ready). */
export async function startNullSink(): Promise<NullSink> {
  const dir = mkdtempSync(join(tmpdir(), 'cosyvoice-pulse-'));
  const socket = join(dir, 'native');
  // PulseAudio warns (and only warns) when run as root outside --system, which is how CI runs: logs are kept to errors.
  await promisify(execFile)(
    'pulseaudio',
    [
      '-n',
      '--daemonize=yes',
      '--use-pid-file=yes',
      '--exit-idle-time=-1',
      '--log-target=stderr',
      '--log-level=error',
      '-L',
      `module-native-protocol-unix socket=${socket} auth-anonymous=1`,
      '-L',
      'module-null-sink sink_name=null',
    ],
    { env: { ...process.env, HOME: dir, PULSE_RUNTIME_PATH: dir, PULSE_STATE_PATH: dir } },
  );
  const pid = Number(readFileSync(join(dir, 'pid'), 'utf8').trim());
  return {
    env: { PULSE_SERVER: `unix:${socket}` },
    stop: async () => {
      process.kill(pid);
      // the daemon removes its pid file on exit: wait for that before removing its directory
      await new Promise<void>((resolve) => {
        const check = (): void => {
          try {
            process.kill(pid, 0);
            setTimeout(check, 50);
          } catch {
            resolve();
          }
        };
        check();
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

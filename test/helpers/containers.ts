// The testcontainers backend (DBOPT_TEST_BACKEND=testcontainers): one PostgreSQL container per
// test run, from a local image (scripts/build-test-image.sh builds dbopt-test-postgres:15).
// Nothing is pulled and no reaper container runs (its image would have to be pulled), so this
// file removes the run's containers itself: at teardown, on SIGINT/SIGTERM, and at exit (those
// two through the docker CLI).
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { EMBEDDED_SETTINGS } from '../../src/db/embedded.js';

export const DEFAULT_TEST_IMAGE = 'dbopt-test-postgres:15';
/** Label on every container of one run; cleanup finds them by it, whatever state they are in. */
export const RUN_LABEL = 'dbopt.test-run';

/** A backend that cannot start for a reason the developer fixes (printed without a stack). */
export class TestBackendError extends Error {
  override name = 'TestBackendError';
}

export interface ContainerServer {
  adminUrl: string;
  stop(): Promise<void>;
}

/** The server settings of the embedded backend, minus those that only fit a local process. */
function serverArgs(): string[] {
  const local = new Set(['listen_addresses', 'unix_socket_directories']);
  return Object.entries(EMBEDDED_SETTINGS)
    .filter(([k]) => !local.has(k))
    .flatMap(([k, v]) => ['-c', `${k}=${v}`]);
}

/** What the server says it is, over the connection the tests use. */
async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ version: string }>('SELECT version()')).rows[0]!.version;
  } finally {
    await client.end();
  }
}

function noEngine(detail: string): TestBackendError {
  const where = process.env.DOCKER_HOST ? `DOCKER_HOST=${process.env.DOCKER_HOST}` : 'the default Docker socket';
  return new TestBackendError(
    [
      `DBOPT_TEST_BACKEND=testcontainers: no container engine answers at ${where} (${detail}).`,
      'Start one, e.g. `sudo dockerd --storage-driver=vfs --userland-proxy=false >/tmp/dockerd.log 2>&1 &`',
      'or `sudo systemctl start docker`,',
      'build the test image with `sudo scripts/build-test-image.sh`, and run again;',
      'or unset DBOPT_TEST_BACKEND to test against the embedded PostgreSQL 18.',
    ].join('\n'),
  );
}

export async function startContainer(): Promise<ContainerServer> {
  // The reaper's image cannot be pulled where Docker Hub is out of reach; cleanup is done below.
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  const image = process.env.DBOPT_TEST_IMAGE ?? DEFAULT_TEST_IMAGE;
  const { getContainerRuntimeClient, ImageName } = await import('testcontainers');
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  let client: Awaited<ReturnType<typeof getContainerRuntimeClient>>;
  try {
    client = await getContainerRuntimeClient();
  } catch (err) {
    throw noEngine((err as Error).message);
  }
  if (!(await client.image.exists(ImageName.fromString(image)))) {
    throw new TestBackendError(
      `DBOPT_TEST_BACKEND=testcontainers: image ${image} is not on this engine (nothing is pulled).\n` +
        'Build it with `sudo scripts/build-test-image.sh`, or set DBOPT_TEST_IMAGE to an image the engine has.',
    );
  }

  const run = randomUUID();
  const filter = `label=${RUN_LABEL}=${run}`;
  const removeRunContainers = async (): Promise<void> => {
    const found = await client.container.dockerode.listContainers({
      all: true,
      filters: { label: [`${RUN_LABEL}=${run}`] },
    });
    await Promise.all(found.map((c) => client.container.dockerode.getContainer(c.Id).remove({ force: true, v: true })));
  };
  // On a signal vitest exits a millisecond later, and at exit only synchronous work runs: so
  // both remove the run's containers through the docker CLI, blocking until they are gone.
  const removeNow = (): void => {
    try {
      const ids = execFileSync('docker', ['ps', '-aq', '--filter', filter], { encoding: 'utf8', timeout: 10_000 })
        .split(/\s+/)
        .filter(Boolean);
      if (ids.length) execFileSync('docker', ['rm', '-f', '-v', ...ids], { stdio: 'ignore', timeout: 120_000 });
    } catch {
      // No docker CLI, or the engine went away: nothing more can be done here.
    }
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    removeNow();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  const detach = (): void => {
    process.off('exit', removeNow);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('exit', removeNow);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const container = await new PostgreSqlContainer(image)
      .withPullPolicy({ shouldPull: () => false })
      .withLabels({ [RUN_LABEL]: run })
      .withCommand(['postgres', ...serverArgs()])
      .start();
    // Which server the run got, in the run's output (CI logs show it).
    const version = await serverVersion(container.getConnectionUri());
    process.stderr.write(`testcontainers: ${image} (container ${container.getId().slice(0, 12)}): ${version}\n`);
    return {
      adminUrl: container.getConnectionUri(),
      stop: async () => {
        try {
          await container.stop();
        } finally {
          await removeRunContainers();
          detach();
        }
      },
    };
  } catch (err) {
    await removeRunContainers().catch(() => undefined);
    detach();
    throw err;
  }
}

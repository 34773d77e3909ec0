/**
 * A real agent process for worker tests (AGENT_HYPERVISOR=simulated unless `env` says
 * otherwise), started by the test kit's shared starter (`@palisade/testkit` agent-process: state
 * directory, host certificate from the test's CA, free loopback port, mTLS), with the worker's
 * own `AgentClient` on top so workflow tests use the production client. Only libvirt is
 * simulated; mTLS, HTTP, the image store, seeds and the agent's error mapping are the production
 * code.
 *
 * For tests only; never imported by the worker itself. The caller kills `proc` afterwards.
 */
import {
  startAgentProcess as startAgent,
  type AgentProcess as TestkitAgentProcess,
} from '@palisade/testkit';
import { AgentClient, type ClientTls } from '../vms/agent-client';

export { AGENT_START_BOUND_MS, freePort } from '@palisade/testkit';

export interface AgentProcess extends TestkitAgentProcess {
  client: AgentClient;
}

export async function startAgentProcess(o: {
  /** The test's directory: the CA under `<dir>/pki`, the agent's state under `<dir>/<name>`. */
  dir: string;
  name: string;
  tls: ClientTls;
  /** Where the CA is when not under `<dir>/pki`. */
  caDir?: string;
  env?: Record<string, string>;
}): Promise<AgentProcess> {
  const agent = await startAgent(o);
  return Object.assign(agent, { client: new AgentClient(agent.url, o.tls, o.name) });
}

import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from './config';

describe('AGENT_VXLAN_REMOTES', () => {
  it('is empty by default: a segment floods to no other host', () => {
    expect(agentConfigSchema.parse({}).AGENT_VXLAN_REMOTES).toEqual([]);
  });

  it('parses a comma-separated list of underlay addresses', () => {
    const c = agentConfigSchema.parse({ AGENT_VXLAN_REMOTES: ' 192.0.2.2,192.0.2.3 ,' });
    expect(c.AGENT_VXLAN_REMOTES).toEqual(['192.0.2.2', '192.0.2.3']);
  });

  it('refuses a name or a malformed address, naming the variable', () => {
    const r = agentConfigSchema.safeParse({ AGENT_VXLAN_REMOTES: '192.0.2.2,peer-host' });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path[0])).toEqual(['AGENT_VXLAN_REMOTES']);
    expect(r.error?.issues[0]?.message).toBe('must be comma-separated IPv4 addresses');
  });
});

/**
 * The tenant portal: a tenant switcher, and pages for VMs and their operations, networks,
 * volumes, SSH keys, quota, members and API clients, and the audit log. A thin client: every
 * decision is the API's, and its refusals are shown with their code and request ID.
 * Must never decide access itself, and never show one tenant's data under another's name
 * (queries are keyed by tenant: see useTenantQuery).
 */
import type { ReactNode } from 'react';
import type { MeOutput } from '@palisade/contracts';
import {
  ApiErrorView,
  Card,
  Loading,
  Nav,
  SessionLayout,
  TenantProvider,
  TenantSwitcher,
  useHashRoute,
  useMe,
  useTenant,
  WhoAmI,
} from '@palisade/ui';
import { AuditPage } from './pages/audit';
import { NetworksPage } from './pages/networks';
import { OperationsPage } from './pages/operations';
import { VmDetailPage } from './pages/vm-detail';
import { PeoplePage } from './pages/people';
import { QuotaCard } from './pages/quota';
import { SshKeysPage } from './pages/ssh-keys';
import { VmsPage } from './pages/vms';
import { VolumesPage } from './pages/volumes';

export const PRODUCT = 'portal';

export const SECTIONS = [
  { href: '#/', label: 'Overview' },
  { href: '#/vms', label: 'VMs' },
  { href: '#/operations', label: 'Operations' },
  { href: '#/networks', label: 'Networks' },
  { href: '#/volumes', label: 'Volumes' },
  { href: '#/ssh-keys', label: 'SSH keys' },
  { href: '#/quota', label: 'Quota' },
  { href: '#/people', label: 'Members & API clients' },
  { href: '#/audit', label: 'Audit log' },
];

export function App() {
  const shell = (content: ReactNode) => <SessionLayout product={PRODUCT}>{content}</SessionLayout>;
  return (
    <TenantProvider shell={shell} none={<NoTenant />}>
      <Portal />
    </TenantProvider>
  );
}

function Portal() {
  const route = useHashRoute();
  const current = `#/${route[0] ?? ''}`;
  return (
    <SessionLayout
      product={PRODUCT}
      toolbar={
        <div className="pl-toolbar">
          <TenantSwitcher />
          <Nav items={SECTIONS} current={current} />
        </div>
      }
    >
      <Page route={route} />
    </SessionLayout>
  );
}

function Page({ route }: { route: string[] }) {
  const [section, id] = route;
  switch (section) {
    case undefined:
      return <Overview />;
    case 'vms':
      return id ? <VmDetailPage id={id} /> : <VmsPage />;
    case 'operations':
      return <OperationsPage />;
    case 'networks':
      return <NetworksPage />;
    case 'volumes':
      return <VolumesPage />;
    case 'ssh-keys':
      return <SshKeysPage />;
    case 'quota':
      return <QuotaCard />;
    case 'people':
      return <PeoplePage />;
    case 'audit':
      return <AuditPage />;
    default:
      return (
        <Card title="Page not found" level={1}>
          <p>
            There is no page <code>#/{route.join('/')}</code>. <a href="#/">Go to the overview</a>.
          </p>
        </Card>
      );
  }
}

function Overview() {
  const me = useMe();
  const { tenant } = useTenant();
  return (
    <>
      {me.isError ? (
        <ApiErrorView error={me.error} onRetry={() => void me.refetch()} />
      ) : me.data ? (
        <PortalHome me={me.data} />
      ) : (
        <Loading what="your profile" />
      )}
      <Card title={`Tenant ${tenant.name}`}>
        <dl>
          <dt>Slug</dt>
          <dd>
            <code>{tenant.slug}</code>
          </dd>
          <dt>Your role</dt>
          <dd>{tenant.role}</dd>
          <dt>Status</dt>
          <dd>{tenant.status}</dd>
        </dl>
      </Card>
      <QuotaCard />
    </>
  );
}

/** Who is signed in, as the API verified it. */
export function PortalHome({ me }: { me: MeOutput }) {
  return <WhoAmI me={me} />;
}

/** A signed-in user who belongs to no tenant yet. */
function NoTenant() {
  const me = useMe();
  return (
    <>
      {me.data && <PortalHome me={me.data} />}
      <Card title="No tenant yet">
        <p>
          You are not a member of any tenant. Ask a tenant&apos;s owner to invite you, or an
          operator to create a tenant with you as its owner.
        </p>
      </Card>
    </>
  );
}

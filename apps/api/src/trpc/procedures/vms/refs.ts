/** Loading what a VM refers to (flavor, image), each refusal naming the input field. */
import { getFlavor, getVisibleImage, type Tx } from '@palisade/db';
import { vmFootprint } from '@palisade/domain';
import { invalidState, notFound } from '../../../resources/errors';

export async function usableFlavor(tx: Tx, id: string, field = 'flavorId') {
  const flavor = await getFlavor(tx, { id });
  if (!flavor || flavor.disabled) throw notFound('flavor', id, field);
  return flavor;
}

export async function usableImage(tx: Tx, tenantId: string, id: string, field = 'imageId') {
  const image = await getVisibleImage(tx, { tenantId, id });
  if (!image || image.status === 'deleted') throw notFound('image', id, field);
  if (image.status !== 'active')
    throw invalidState(`${field}: image ${image.name} is ${image.status}, not active`);
  return image;
}

export const footprintOf = (f: { vcpus: number; ramMib: number; diskGib: number }) =>
  vmFootprint({ vcpus: f.vcpus, ramMiB: f.ramMib, diskGiB: f.diskGib });

/** The flavor a VM has, even if operators disabled it since (deletes and resizes need it). */
export async function usableFlavorOrAny(tx: Tx, id: string) {
  const flavor = await getFlavor(tx, { id });
  if (!flavor) throw new Error(`VM flavor ${id} vanished (flavors are restrict-referenced)`);
  return flavor;
}

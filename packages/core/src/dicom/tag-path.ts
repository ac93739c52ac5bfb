/** Tag paths name where an element sits without naming its value: "(0040,A730)[2](0010,0010)". */
import type { DicomElement, ElementContainer } from './dataset.ts';
import { formatTag } from './tag.ts';

export function containerPath(container: ElementContainer): string {
  if (container.kind === 'dataset') return '';
  const item = container as ElementContainer & { parent: DicomElement; index: number };
  return `${elementPath(item.parent)}[${item.index}]`;
}

export function elementPath(element: DicomElement): string {
  return containerPath(element.parent) + formatTag(element.tag);
}

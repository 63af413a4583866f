import { create } from 'xmlbuilder2';

/** The document element of an XML text, through xmlbuilder2's DOM (which decodes entities, unlike its object form). */
export function parseXml(xml: string): Element {
  return (create(xml).node as unknown as Document).documentElement;
}

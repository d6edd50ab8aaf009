import { writeEmbeddedTemplate } from './embedded-template.js';

/** `npm run build`'s last step: the migrated embedded cluster a first start unpacks (see embedded-template.ts). */
const wrote = await writeEmbeddedTemplate();
console.log(wrote ? 'embedded database template written' : 'embedded database template up to date');

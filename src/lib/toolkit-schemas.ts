import type { ValidateFunction } from 'ajv';
import { defaultCacheDir } from './cache-dir.ts';
import { compileCached } from './compiled-schemas.ts';

/** ajv options for the toolkit's own schemas (schemas/*.schema.json): every error, defaults filled in. */
export const TOOLKIT_SCHEMA_OPTIONS = { strict: false, allErrors: true, useDefaults: true, verbose: true, allowUnionTypes: true };

/**
 * A validator for one of the toolkit's schemas. The generators and the validator's check of `.answers.yaml`
 * files share it, so whichever runs first compiles it for the other.
 */
export const toolkitValidator = (schema: object): Promise<ValidateFunction> =>
  compileCached({ key: JSON.stringify(schema), schema: () => schema, options: TOOLKIT_SCHEMA_OPTIONS, cacheDir: defaultCacheDir() });

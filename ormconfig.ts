import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/config.schema';
import { buildDataSourceOptions } from './src/database/data-source.options';

// The DataSource the TypeORM CLI uses (`npm run typeorm -- migration:show`), built from the same
// environment variables as the server.
export const dataSource = new DataSource(buildDataSourceOptions(loadConfig().database));
export default dataSource;

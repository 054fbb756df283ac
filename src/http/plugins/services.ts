// Decorates the app with the services (fastify.services) and frees them when the app closes.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

import type { Services } from '../services.js';

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

export interface ServicesPluginOptions {
  services: Services;
  /** Whether closing the app also closes the services (the server owns them; some tests do not). */
  closeOnExit?: boolean;
}

export const servicesPlugin = fp(
  async (app: FastifyInstance, options: ServicesPluginOptions) => {
    app.decorate('services', options.services);
    if (options.closeOnExit !== false) app.addHook('onClose', async () => options.services.close());
  },
  { name: 'talk2me-services' },
);

import Fastify, { type FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { attachToRoutes, changesState } from './route-hooks.js';

describe('changesState', () => {
  it('is false for the safe methods only, whatever their case or grouping', () => {
    expect(changesState({ method: 'GET' })).toBe(false);
    expect(changesState({ method: ['GET', 'HEAD', 'OPTIONS'] })).toBe(false);
    expect(changesState({ method: 'post' })).toBe(true);
    expect(changesState({ method: ['GET', 'DELETE'] })).toBe(true);
  });
});

describe('attachToRoutes', () => {
  it('runs the hook on the routes declared after it that it applies to, after their own hooks, and on no other', async () => {
    const app = Fastify();
    const hooksRun = new WeakMap<FastifyRequest, string[]>();
    const ran = (request: FastifyRequest) => hooksRun.get(request) ?? [];
    app.addHook('onRequest', (request, _reply, done) => {
      hooksRun.set(request, []);
      done();
    });
    app.post('/declared-before', async (request) => ran(request));
    attachToRoutes(app, 'onRequest', changesState, (request, _reply, done) => {
      ran(request).push('attached');
      done();
    });
    app.get('/read', async (request) => ran(request));
    app.post('/write', { onRequest: (request, _reply, done) => (ran(request).push('own'), done()) }, async (request) => ran(request));
    await app.register(async (child) => {
      child.delete('/child-write', async (request) => ran(request));
    });

    expect((await app.inject({ method: 'POST', url: '/declared-before' })).json()).toEqual([]);
    expect((await app.inject({ method: 'GET', url: '/read' })).json()).toEqual([]);
    expect((await app.inject({ method: 'POST', url: '/write' })).json()).toEqual(['own', 'attached']);
    expect((await app.inject({ method: 'DELETE', url: '/child-write' })).json()).toEqual(['attached']);
    await app.close();
  });
});

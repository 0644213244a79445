/**
 * Node's request and response classes for the app's HTTP server, whose objects are born with the
 * Express app's prototypes. Express gives every request and response the app's prototypes with
 * Object.setPrototypeOf (in app.handle). V8 then gives each of those objects a hidden class of
 * its own, so every later property read and write on req and res, in Node, Express and the
 * gateway, misses V8's inline caches, and each request allocates new hidden classes. An object
 * that already has the prototype is left alone, so here the prototypes Express assigns are the
 * prototypes of two subclasses of Node's classes: Express's step changes nothing, and objects of
 * one class share their hidden classes again. Express's prototypes keep their methods and
 * their `app`; Node's constructors build the objects; Express runs in full. A response served
 * some other way (supertest's own server) still gets the same prototypes from Express.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import type { Express } from 'express';

interface MessageClasses {
  IncomingMessage: typeof IncomingMessage;
  ServerResponse: typeof ServerResponse;
}

const classesOf = new WeakMap<Express, MessageClasses>();

/** Makes `subclass.prototype` the app's request or response prototype, in its place. */
function adopt(app: Express, which: 'request' | 'response', subclass: { prototype: object }): void {
  const appPrototype: object = app[which];
  // What Express put there: the methods (inherited from express.request/response) and `app` (own).
  Object.setPrototypeOf(subclass.prototype, Object.getPrototypeOf(appPrototype));
  Object.defineProperties(subclass.prototype, Object.getOwnPropertyDescriptors(appPrototype));
  (app as unknown as Record<string, object>)[which] = subclass.prototype;
}

export function expressMessageClasses(app: Express): MessageClasses {
  const known = classesOf.get(app);
  if (known) return known;
  class ExpressRequest extends IncomingMessage {}
  class ExpressResponse extends ServerResponse {}
  adopt(app, 'request', ExpressRequest);
  adopt(app, 'response', ExpressResponse);
  // Node's typing makes ServerResponse generic in its request type; these serve IncomingMessage.
  const classes: MessageClasses = { IncomingMessage: ExpressRequest, ServerResponse: ExpressResponse as typeof ServerResponse };
  classesOf.set(app, classes);
  return classes;
}

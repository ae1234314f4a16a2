/** The process-tree helpers live in core (core/executor/processTree.ts), beside the one worker launcher that uses them. */
export { descendants, isAlive, killTree } from '../core/executor/processTree';

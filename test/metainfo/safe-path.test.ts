import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkNoCollisions, safeComponent, safeRelativePath } from '../../lib/metainfo/safe-path.js'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import { fixture } from '../helpers.js'

const throwsMeta = (fn: () => unknown, message: string): void => {
  assert.throws(fn, { name: 'MetainfoError', message })
}

test('reject: ".." anywhere and NUL bytes, naming the file', () => {
  throwsMeta(() => safeRelativePath(['a', '..', 'b'], 'info.files[2]'), 'info.files[2]: path component ".." would leave the download directory')
  throwsMeta(() => safeRelativePath(['a\0b'], 'info.files[0]'), 'info.files[0]: path component contains a NUL byte')
})

test('drop: empty and "." components; reject when nothing is left', () => {
  assert.equal(safeRelativePath(['', 'a', '.', '', 'b'], 'f'), 'a/b')
  throwsMeta(() => safeRelativePath(['', '.'], 'f'), 'f: path is empty after removing empty and "." components')
})

test('sanitise: separators inside a component can never make an absolute or nested path', () => {
  assert.equal(safeComponent('/etc/passwd', 'f'), '_etc_passwd')
  assert.equal(safeComponent('..\\..\\win', 'f'), '.._.._win')
  assert.equal(safeComponent('a/../b', 'f'), 'a_.._b')
})

test('sanitise: Windows drive letters, reserved characters, device names, trailing dot/space', () => {
  assert.equal(safeComponent('C:', 'f'), 'C_')
  assert.equal(safeComponent('a<b>c:"d|e?f*', 'f'), 'a_b_c__d_e_f_')
  assert.equal(safeComponent('CON', 'f'), '_CON')
  assert.equal(safeComponent('nul.txt', 'f'), '_nul.txt')
  assert.equal(safeComponent('com1', 'f'), '_com1')
  assert.equal(safeComponent('console', 'f'), 'console')
  assert.equal(safeComponent('name.', 'f'), 'name_')
  assert.equal(safeComponent('name ', 'f'), 'name_')
  assert.equal(safeComponent('tab\there', 'f'), 'tab_here')
  assert.equal(safeComponent('ünïcödé ok', 'f'), 'ünïcödé ok')
})

test('collisions: same path, or a file used as a directory, are rejected', () => {
  throwsMeta(() => checkNoCollisions([{ path: 'a/b', where: 'x' }, { path: 'a/b', where: 'y' }]), 'y and x both map to the path "a/b"')
  throwsMeta(() => checkNoCollisions([{ path: 'a/b/c', where: 'x' }, { path: 'a/b', where: 'y' }]), 'y has the path "a/b", which x needs as a directory')
  checkNoCollisions([{ path: 'a/b', where: 'x' }, { path: 'a/c', where: 'y' }, { path: 'ab', where: 'z' }])
})

test('sanitised.torrent: hostile-looking paths land under the torrent directory', () => {
  const m = parseTorrent(fixture('sanitised.torrent'))
  assert.deepEqual(m.files.map(f => f.path), ['m/_etc_passwd', 'm/C_/win.ini', 'm/dir/a_b.txt', 'm/_CON.txt', 'm/.pad/6', 'm/trailing._'])
  for (const f of m.files) {
    assert.ok(!f.path.startsWith('/') && !f.path.split('/').includes('..'))
  }
  assert.deepEqual(m.files[0]?.rawPath, ['m', '/etc/passwd'])
})

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fault-vfs.h: an SQLite VFS for fault tests.
 *
 * It wraps the default unix VFS. Writes are kept in memory until the file
 * is synced, as an OS page cache would keep them; "power off" drops
 * everything not synced yet and every write after it, as SQLite's own crash
 * tests model a power cut. It can also make writes fail as a full or
 * read-only disk would. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  FAULT_VFS_WRITES_OK,
  FAULT_VFS_WRITES_FULL,       /* xWrite fails with SQLITE_FULL */
  FAULT_VFS_WRITES_READ_ONLY,  /* xWrite fails with SQLITE_READONLY */
} FaultVfsWrites;

/* Registers the VFS as SQLite's default; later opens go through it. */
void     fault_vfs_install        (void);
/* Makes the plain unix VFS the default again. */
void     fault_vfs_uninstall      (void);
void     fault_vfs_set_writes     (FaultVfsWrites writes);
/* Pulls the plug: unsynced data is lost; nothing reaches the disk after. */
void     fault_vfs_power_off      (void);
gboolean fault_vfs_is_powered_off (void);
/* Bytes waiting in "page cache", for reports. */
gsize    fault_vfs_unsynced_bytes (void);

G_END_DECLS

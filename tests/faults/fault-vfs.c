/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "fault-vfs.h"

#include <sqlite3.h>
#include <string.h>

typedef struct
{
  sqlite3_int64 offset;
  int           len;
  guint8       *data;
} PendingWrite;

/* The page cache is per file, not per handle: two connections to one
 * database see each other's unsynced writes, as they would on a real OS. */
typedef struct
{
  char      *path;
  GPtrArray *pending;     /* PendingWrite, in order */
  int        n_handles;
} CachedFile;

typedef struct
{
  sqlite3_file  base;
  sqlite3_file *real;
  CachedFile   *cache;
  GPtrArray    *pending;  /* cache->pending */
} FaultFile;

static GHashTable *caches;  /* path → CachedFile */

static sqlite3_vfs fault_vfs;
static sqlite3_vfs *unix_vfs;
static gint powered_off;
static gint writes_mode;
static GMutex lock;        /* pending lists are touched by several threads */
static gsize unsynced;

static void
pending_write_free (PendingWrite *write)
{
  g_free (write->data);
  g_free (write);
}

static int
apply_pending (FaultFile *file)
{
  int rc = SQLITE_OK;

  for (guint i = 0; i < file->pending->len && rc == SQLITE_OK; i++)
    {
      PendingWrite *write = g_ptr_array_index (file->pending, i);
      rc = file->real->pMethods->xWrite (file->real, write->data, write->len, write->offset);
      unsynced -= write->len;
    }
  g_ptr_array_set_size (file->pending, 0);
  return rc;
}

static void
drop_pending (FaultFile *file)
{
  for (guint i = 0; i < file->pending->len; i++)
    unsynced -= ((PendingWrite *) g_ptr_array_index (file->pending, i))->len;
  g_ptr_array_set_size (file->pending, 0);
}

static int
fault_close (sqlite3_file *f)
{
  FaultFile *file = (FaultFile *) f;
  int rc;

  g_mutex_lock (&lock);
  /* Closing does not sync, but a page cache flushes eventually unless the
   * power went first. */
  if (g_atomic_int_get (&powered_off))
    drop_pending (file);
  else
    apply_pending (file);
  if (--file->cache->n_handles == 0)
    g_hash_table_remove (caches, file->cache->path);
  g_mutex_unlock (&lock);
  rc = file->real->pMethods->xClose (file->real);
  sqlite3_free (file->real);
  return rc;
}

static sqlite3_int64
logical_size (FaultFile *file, sqlite3_int64 real_size)
{
  for (guint i = 0; i < file->pending->len; i++)
    {
      PendingWrite *write = g_ptr_array_index (file->pending, i);
      real_size = MAX (real_size, write->offset + write->len);
    }
  return real_size;
}

static int
fault_read (sqlite3_file *f, void *buffer, int amount, sqlite3_int64 offset)
{
  FaultFile *file = (FaultFile *) f;
  sqlite3_int64 real_size = 0;
  int rc;

  g_mutex_lock (&lock);
  rc = file->real->pMethods->xRead (file->real, buffer, amount, offset);
  if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ)
    goto out;
  for (guint i = 0; i < file->pending->len; i++)
    {
      PendingWrite *write = g_ptr_array_index (file->pending, i);
      sqlite3_int64 start = MAX (offset, write->offset);
      sqlite3_int64 end = MIN (offset + amount, write->offset + write->len);

      if (start < end)
        memcpy ((guint8 *) buffer + (start - offset), write->data + (start - write->offset),
                end - start);
    }
  if (rc == SQLITE_IOERR_SHORT_READ)
    {
      file->real->pMethods->xFileSize (file->real, &real_size);
      if (logical_size (file, real_size) >= offset + amount)
        rc = SQLITE_OK;
    }
out:
  g_mutex_unlock (&lock);
  return rc;
}

static int
fault_write (sqlite3_file *f, const void *data, int amount, sqlite3_int64 offset)
{
  FaultFile *file = (FaultFile *) f;
  PendingWrite *write;

  if (g_atomic_int_get (&powered_off))
    return SQLITE_OK;
  switch (g_atomic_int_get (&writes_mode))
    {
    case FAULT_VFS_WRITES_FULL:
      return SQLITE_FULL;
    case FAULT_VFS_WRITES_READ_ONLY:
      return SQLITE_READONLY;
    default:
      break;
    }
  write = g_new (PendingWrite, 1);
  write->offset = offset;
  write->len = amount;
  write->data = g_memdup2 (data, amount);
  g_mutex_lock (&lock);
  g_ptr_array_add (file->pending, write);
  unsynced += amount;
  g_mutex_unlock (&lock);
  return SQLITE_OK;
}

/* Puts the file's cached writes on the disk before an operation that
 * needs them there. */
static int
flush_cache (FaultFile *file)
{
  int rc;

  g_mutex_lock (&lock);
  rc = apply_pending (file);
  g_mutex_unlock (&lock);
  return rc;
}

static int
fault_truncate (sqlite3_file *f, sqlite3_int64 size)
{
  FaultFile *file = (FaultFile *) f;
  int rc;

  if (g_atomic_int_get (&powered_off))
    return SQLITE_OK;
  /* Optimistic: a truncate makes what came before it reach the disk. SQLite
   * truncates after a sync (WAL reset, checkpoint), so this is rare. */
  if ((rc = flush_cache (file)) != SQLITE_OK)
    return rc;
  return file->real->pMethods->xTruncate (file->real, size);
}

static int
fault_sync (sqlite3_file *f, int flags)
{
  FaultFile *file = (FaultFile *) f;
  int rc;

  if (g_atomic_int_get (&powered_off))
    return SQLITE_OK;
  if ((rc = flush_cache (file)) != SQLITE_OK)
    return rc;
  return file->real->pMethods->xSync (file->real, flags);
}

static int
fault_file_size (sqlite3_file *f, sqlite3_int64 *size)
{
  FaultFile *file = (FaultFile *) f;
  int rc = file->real->pMethods->xFileSize (file->real, size);

  g_mutex_lock (&lock);
  *size = logical_size (file, *size);
  g_mutex_unlock (&lock);
  return rc;
}

#define DELEGATE(name, args, call) \
  static int fault_##name args \
  { FaultFile *file = (FaultFile *) f; return file->real->pMethods->x##call; }

DELEGATE (lock, (sqlite3_file *f, int level), Lock (file->real, level))
DELEGATE (unlock, (sqlite3_file *f, int level), Unlock (file->real, level))
DELEGATE (check_reserved, (sqlite3_file *f, int *out), CheckReservedLock (file->real, out))
DELEGATE (file_control, (sqlite3_file *f, int op, void *arg), FileControl (file->real, op, arg))
DELEGATE (sector_size, (sqlite3_file *f), SectorSize (file->real))
DELEGATE (device_characteristics, (sqlite3_file *f), DeviceCharacteristics (file->real))
DELEGATE (shm_map, (sqlite3_file *f, int page, int size, int extend, void volatile **out),
          ShmMap (file->real, page, size, extend, out))
DELEGATE (shm_lock, (sqlite3_file *f, int offset, int n, int flags),
          ShmLock (file->real, offset, n, flags))
DELEGATE (shm_unmap, (sqlite3_file *f, int delete_flag), ShmUnmap (file->real, delete_flag))

static void
fault_shm_barrier (sqlite3_file *f)
{
  FaultFile *file = (FaultFile *) f;
  file->real->pMethods->xShmBarrier (file->real);
}

/* Version 2: shared memory for WAL, but no memory-mapped reads that would
 * bypass xRead. */
static const sqlite3_io_methods fault_methods = {
  2, fault_close, fault_read, fault_write, fault_truncate, fault_sync, fault_file_size,
  fault_lock, fault_unlock, fault_check_reserved, fault_file_control, fault_sector_size,
  fault_device_characteristics, fault_shm_map, fault_shm_lock, fault_shm_barrier,
  fault_shm_unmap, NULL, NULL,
};

static int
fault_open (sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
  FaultFile *file = (FaultFile *) f;
  int rc;

  file->real = sqlite3_malloc (unix_vfs->szOsFile);
  memset (file->real, 0, unix_vfs->szOsFile);
  rc = unix_vfs->xOpen (unix_vfs, name, file->real, flags, out_flags);
  if (rc != SQLITE_OK)
    {
      sqlite3_free (file->real);
      file->base.pMethods = NULL;
      return rc;
    }
  g_mutex_lock (&lock);
  file->cache = name ? g_hash_table_lookup (caches, name) : NULL;
  if (file->cache == NULL)
    {
      static guint anonymous;

      file->cache = g_new0 (CachedFile, 1);
      file->cache->path = name ? g_strdup (name) : g_strdup_printf ("(temp %u)", anonymous++);
      file->cache->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) pending_write_free);
      g_hash_table_insert (caches, file->cache->path, file->cache);
    }
  file->cache->n_handles++;
  file->pending = file->cache->pending;
  g_mutex_unlock (&lock);
  file->base.pMethods = &fault_methods;
  return SQLITE_OK;
}

#define PASS(name, args, call) \
  static int fault_vfs_##name args { return unix_vfs->x##call; }

static int
fault_vfs_delete (sqlite3_vfs *v, const char *name, int sync_dir)
{
  /* A dead machine deletes nothing (closing the last connection would
   * otherwise remove the WAL that holds the synced commits). */
  if (g_atomic_int_get (&powered_off))
    return SQLITE_OK;
  return unix_vfs->xDelete (unix_vfs, name, sync_dir);
}

PASS (access, (sqlite3_vfs *v, const char *name, int flags, int *out),
      Access (unix_vfs, name, flags, out))
PASS (full_pathname, (sqlite3_vfs *v, const char *name, int n, char *out),
      FullPathname (unix_vfs, name, n, out))
PASS (randomness, (sqlite3_vfs *v, int n, char *out), Randomness (unix_vfs, n, out))
PASS (sleep, (sqlite3_vfs *v, int us), Sleep (unix_vfs, us))
PASS (current_time, (sqlite3_vfs *v, double *out), CurrentTime (unix_vfs, out))
PASS (last_error, (sqlite3_vfs *v, int n, char *out), GetLastError (unix_vfs, n, out))
PASS (current_time_int64, (sqlite3_vfs *v, sqlite3_int64 *out), CurrentTimeInt64 (unix_vfs, out))

static void
cached_file_free (CachedFile *cache)
{
  g_ptr_array_unref (cache->pending);
  g_free (cache->path);
  g_free (cache);
}

void
fault_vfs_install (void)
{
  if (caches == NULL)
    caches = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                    (GDestroyNotify) cached_file_free);
  unix_vfs = sqlite3_vfs_find ("unix");
  g_assert (unix_vfs != NULL);
  fault_vfs = (sqlite3_vfs) {
    .iVersion = 2,
    .szOsFile = sizeof (FaultFile),
    .mxPathname = unix_vfs->mxPathname,
    .zName = "rill-fault",
    .xOpen = fault_open,
    .xDelete = fault_vfs_delete,
    .xAccess = fault_vfs_access,
    .xFullPathname = fault_vfs_full_pathname,
    .xDlOpen = NULL,
    .xDlError = NULL,
    .xDlSym = NULL,
    .xDlClose = NULL,
    .xRandomness = fault_vfs_randomness,
    .xSleep = fault_vfs_sleep,
    .xCurrentTime = fault_vfs_current_time,
    .xGetLastError = fault_vfs_last_error,
    .xCurrentTimeInt64 = fault_vfs_current_time_int64,
  };
  g_atomic_int_set (&powered_off, FALSE);
  g_atomic_int_set (&writes_mode, FAULT_VFS_WRITES_OK);
  sqlite3_vfs_register (&fault_vfs, 1);
}

void
fault_vfs_uninstall (void)
{
  sqlite3_vfs_unregister (&fault_vfs);
  sqlite3_vfs_register (unix_vfs, 1);
}

void
fault_vfs_set_writes (FaultVfsWrites writes)
{
  g_atomic_int_set (&writes_mode, writes);
}

void
fault_vfs_power_off (void)
{
  g_atomic_int_set (&powered_off, TRUE);
}

gboolean
fault_vfs_is_powered_off (void)
{
  return g_atomic_int_get (&powered_off);
}

gsize
fault_vfs_unsynced_bytes (void)
{
  gsize n;

  g_mutex_lock (&lock);
  n = unsynced;
  g_mutex_unlock (&lock);
  return n;
}

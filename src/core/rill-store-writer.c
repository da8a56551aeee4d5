/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The writer thread.
 *
 * One thread owns the writer connection and runs a FIFO queue of jobs, so
 * writes commit in the order they were asked for and the main loop never
 * waits on SQLite or fsync. A job returns its GTask from this thread and
 * GTask delivers the result in the caller's main context.
 *
 * Lifetime: every queued job holds a reference to the store, so the store
 * cannot be disposed while a job waits, and dispose (which queues the job
 * that ends the loop) finds the queue empty. The last reference may be
 * dropped by a job on this very thread; the thread then lets itself go
 * instead of joining itself. */

#include "rill-store-private.h"

typedef struct
{
  RillStoreJobFunc func;
  RillStore       *store; /* a job keeps the store, and so the writer, alive */
  GTask           *task; /* NULL for checkpoints, whose caller does not wait */
  gpointer         data;
  GDestroyNotify   data_free;
} Job;

static void
job_free (Job *job)
{
  /* The store goes first so that a barrier, released by its data, is only
   * passed once the jobs before it hold no reference. This may drop the
   * last reference, on this thread; dispose then queues the job that ends
   * this loop. */
  g_clear_object (&job->store);
  g_clear_object (&job->task);
  if (job->data_free)
    job->data_free (job->data);
  g_free (job);
}

static gpointer
writer_thread (gpointer data)
{
  g_autoptr(GAsyncQueue) jobs = data;

  for (;;)
    {
      Job *job = g_async_queue_pop (jobs);

      if (job->func == NULL)
        {
          g_free (job);
          break;
        }
      job->func (job->store, job->task, job->data);
      job_free (job);
    }
  return NULL;
}

void
_rill_store_push_job (RillStore        *self,
                      RillStoreJobFunc  func,
                      GTask            *task,
                      gpointer          data,
                      GDestroyNotify    data_free)
{
  Job *job = g_new0 (Job, 1);

  job->func = func;
  job->store = g_object_ref (self);
  job->task = task;
  job->data = data;
  job->data_free = data_free;
  g_async_queue_push (self->jobs, job);
}

GTask *
_rill_store_new_task (RillStore           *self,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data,
                      gpointer             source_tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  /* The writer returns results from its thread; GTask delivers them in the
   * caller's main context. */
  g_task_set_return_on_cancel (task, FALSE);
  return task;
}

void
_rill_store_return_write_error (GTask *task, sqlite3 *db, GError *error)
{
  rill_sqlite_rollback (db);
  /* Durable jobs raise the level before their transaction; drop it back. */
  sqlite3_exec (db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
  if (task != NULL)
    g_task_return_error (task, error);
  else
    {
      g_warning ("%s", error->message);
      g_error_free (error);
    }
}

void
_rill_store_writer_start (RillStore *self)
{
  self->jobs = g_async_queue_new ();
  self->thread = g_thread_new ("rill-store-writer", writer_thread, g_async_queue_ref (self->jobs));
  /* No job can run before open returns, so nothing is missed. */
  rill_sqlite_trace (self->writer, &self->writer_trace, self->thread);
}

void
_rill_store_writer_stop (RillStore *self)
{
  /* Every queued job holds a reference, so the queue is empty here. */
  if (self->thread != NULL)
    {
      g_async_queue_push (self->jobs, g_new0 (Job, 1));
      if (g_thread_self () == self->thread)
        g_thread_unref (self->thread);
      else
        g_thread_join (self->thread);
      self->thread = NULL;
    }
}

typedef struct
{
  GMutex   lock;
  GCond    cond;
  gboolean reached;
  gint     ref_count;
} Barrier;

static void
barrier_release (Barrier *barrier)
{
  g_mutex_lock (&barrier->lock);
  barrier->reached = TRUE;
  g_cond_signal (&barrier->cond);
  g_mutex_unlock (&barrier->lock);
}

static void
barrier_unref (Barrier *barrier)
{
  if (g_atomic_int_dec_and_test (&barrier->ref_count))
    {
      g_mutex_clear (&barrier->lock);
      g_cond_clear (&barrier->cond);
      g_free (barrier);
    }
}

static void
barrier_job (RillStore *self, GTask *task, gpointer data)
{
  /* Reached in job_free, once this job holds nothing. */
}

static void
barrier_done (Barrier *barrier)
{
  barrier_release (barrier);
  barrier_unref (barrier);
}

gboolean
rill_store_sync (RillStore *self, guint timeout_ms)
{
  Barrier *barrier;
  gint64 deadline;
  gboolean reached;

  g_return_val_if_fail (RILL_IS_STORE (self), FALSE);

  barrier = g_new0 (Barrier, 1);
  g_mutex_init (&barrier->lock);
  g_cond_init (&barrier->cond);
  barrier->ref_count = 2;
  _rill_store_push_job (self, barrier_job, NULL, barrier, (GDestroyNotify) barrier_done);

  deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  g_mutex_lock (&barrier->lock);
  while (!barrier->reached)
    if (!g_cond_wait_until (&barrier->cond, &barrier->lock, deadline))
      break;
  reached = barrier->reached;
  g_mutex_unlock (&barrier->lock);
  barrier_unref (barrier);
  return reached;
}

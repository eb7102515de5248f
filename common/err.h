/* The one error convention, for every module of VoixIA.
 *
 * Functions return int: 0 (or a length/count >= 0 where documented) on
 * success, a negative errno on failure (-EINVAL bad input, -ENOMEM, -ENOSPC
 * buffer too small, -EPROTO protocol violation, -EBADMSG malformed message,
 * -ENOENT not found, -EAGAIN try later, -ECONNREFUSED/-ETIMEDOUT network).
 * Cleanup uses `goto out`.
 *
 * Ownership rule: whoever calls X_new()/X_alloc() owns the object and calls
 * the matching X_destroy()/X_free() exactly once; destroy functions accept
 * NULL. Pointers returned by getters are borrowed and live as long as the
 * object that returned them. Callbacks receive borrowed pointers only valid
 * for the duration of the call. Nothing is refcounted unless its header says so.
 */
#ifndef VX_ERR_H
#define VX_ERR_H
#include <errno.h>
#define VX_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#endif

// ftforest/base.hpp: errors (ftf::error, check), durations, and the RAII handle templates the
// other pieces use.
//
// Part of the C++17 wrapper; include <ftforest.hpp> (which includes every part), not this
// file alone. Conventions: see ftforest.hpp.
#ifndef FTFOREST_BASE_HPP
#define FTFOREST_BASE_HPP

#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>
#include <utility>

#include "../ftforest.h"

namespace ftf {

/// The error category of ftf_result codes.
class error_category_impl final : public std::error_category {
public:
    const char *name() const noexcept override { return "ftforest"; }
    std::string message(int code) const override {
        return ftf_result_message(static_cast<uint32_t>(code));
    }
};

/// The single instance of the ftforest error category.
inline const std::error_category &category() noexcept {
    static const error_category_impl instance;
    return instance;
}

/// An ftf_result as a std::error_code.
inline std::error_code make_error_code(uint32_t rc) noexcept {
    return {static_cast<int>(rc), category()};
}

/// A failed libftforest call.
class error : public std::system_error {
public:
    explicit error(uint32_t rc, const std::string &what = {})
        : std::system_error(make_error_code(rc),
                            what.empty() ? std::string(ftf_result_name(rc))
                                         : what + ": " + ftf_result_name(rc)),
          rc_(rc) {}
    /// The ftf_result.
    uint32_t result() const noexcept { return rc_; }

private:
    uint32_t rc_;
};

/// Throws ftf::error unless rc is FTF_OK.
inline void check(uint32_t rc, const char *what = "") {
    if (rc != FTF_OK) {
        throw error(rc, what);
    }
}

/// Nanoseconds for the C ABI.
template <class Rep, class Period>
inline uint64_t to_ns(std::chrono::duration<Rep, Period> d) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    return ns < 0 ? 0u : static_cast<uint64_t>(ns);
}

/// No timeout.
inline constexpr uint64_t forever = UINT64_MAX;

namespace detail {

/// A reference-counted library handle: copy = clone, destroy = free.
template <class T, const T *(*Clone)(const T *), void (*Free)(const T *)>
class shared {
public:
    shared() noexcept = default;
    explicit shared(const T *adopt) noexcept : p_(adopt) {}
    shared(const shared &o) noexcept : p_(o.p_ ? Clone(o.p_) : nullptr) {}
    shared(shared &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    shared &operator=(shared o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~shared() { Free(p_); }
    const T *get() const noexcept { return p_; }
    explicit operator bool() const noexcept { return p_ != nullptr; }

private:
    const T *p_ = nullptr;
};

/// A uniquely owned library handle: move-only, destroy = free.
template <class T, void (*Free)(T *)>
class unique {
public:
    unique() noexcept = default;
    explicit unique(T *adopt) noexcept : p_(adopt) {}
    unique(const unique &) = delete;
    unique &operator=(const unique &) = delete;
    unique(unique &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    unique &operator=(unique &&o) noexcept {
        if (this != &o) {
            Free(p_);
            p_ = std::exchange(o.p_, nullptr);
        }
        return *this;
    }
    ~unique() { Free(p_); }
    T *get() const noexcept { return p_; }

private:
    T *p_ = nullptr;
};

template <class F>
void delete_fn(void *p) noexcept {
    delete static_cast<F *>(p);
}

}  // namespace detail

}  // namespace ftf

#endif  // FTFOREST_BASE_HPP

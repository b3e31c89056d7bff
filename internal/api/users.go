package api

import "github.com/gin-gonic/gin"

// mountUsers registers its area's routes (being written).
func (a *API) mountUsers(g *gin.RouterGroup) {}
